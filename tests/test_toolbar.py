"""The bottom toolbar (pure): session states, the current one highlighted, cut
to the terminal width with "+N more"."""

from __future__ import annotations

import random
import re

import pytest

from copilot_repl.shell.toolbar import GLYPHS, toolbar_fragments

Frag = list[tuple[str, str]]


def text(frags: Frag) -> str:
    return "".join(t for _, t in frags)


def shown(frags: Frag) -> list[str]:
    """Session labels shown, in order (without the "more" markers)."""
    return [t.strip() for s, t in frags if t.strip() and s != "class:toolbar.more"]


def styles(frags: Frag) -> dict[str, str]:
    return {t.strip().split(" ")[0]: s for s, t in frags if t.strip() and "more" not in s}


def more(frags: Frag) -> list[str]:
    return [t.strip() for s, t in frags if s == "class:toolbar.more"]


@pytest.mark.parametrize(
    ("state", "mark"),
    [
        ("idle", ""),
        ("queued", "…queued"),
        ("streaming", "⟳"),
        ("unread", "●new"),
        ("failed", "✗failed"),
    ],
)
def test_each_state_has_its_mark_and_style(state: str, mark: str) -> None:
    frags = toolbar_fragments([("main", "idle"), ("beta", state)], "main", 100)
    assert shown(frags) == ["main", f"beta {mark}".strip()]
    assert styles(frags)["beta"] == f"class:toolbar.{state}"


def test_the_current_session_is_highlighted_whatever_its_state() -> None:
    frags = toolbar_fragments(
        [("alpha", "idle"), ("beta", "streaming"), ("main", "unread")], "beta", 100
    )
    assert styles(frags) == {
        "alpha": "class:toolbar.idle",
        "beta": "class:toolbar.current",
        "main": "class:toolbar.unread",
    }
    assert "⟳" in text(frags)  # its state still shows


def test_all_sessions_in_order_when_they_fit() -> None:
    names = [f"s{i}" for i in range(5)]
    frags = toolbar_fragments([(n, "idle") for n in names], "s0", 100)
    assert shown(frags) == names
    assert more(frags) == []


def test_an_unknown_state_is_shown_by_name() -> None:
    frags = toolbar_fragments([("main", "paused")], "main", 100)
    assert shown(frags) == ["main paused"]


def test_no_sessions_no_fragments() -> None:
    assert toolbar_fragments([], "", 80) == []


def test_too_many_sessions_are_cut_with_a_count() -> None:
    names = [f"session{i:02d}" for i in range(30)]
    frags = toolbar_fragments([(n, "idle") for n in names], names[0], 60)
    visible = shown(frags)
    assert 1 < len(visible) < 30
    assert visible == names[: len(visible)]
    assert more(frags) == [f"+{30 - len(visible)} more"]
    assert len(text(frags)) <= 60


def test_the_current_session_stays_visible_when_the_list_is_cut() -> None:
    names = [f"session{i:02d}" for i in range(30)]
    frags = toolbar_fragments([(n, "idle") for n in names], "session20", 60)
    visible = shown(frags)
    assert "session20" in visible
    assert styles(frags)["session20"] == "class:toolbar.current"
    before, after = more(frags)
    assert before == f"+{names.index(visible[0])} more"
    assert after == f"+{30 - names.index(visible[-1]) - 1} more"
    assert len(text(frags)) <= 60


def test_the_last_session_is_not_squeezed_past_the_width() -> None:
    frags = toolbar_fragments([("a" * 20, "idle"), ("b", "idle"), ("c" * 10, "idle")], "b", 28)
    assert len(text(frags)) <= 28
    assert "b" in shown(frags)


@pytest.mark.parametrize("seed", range(20))
def test_never_wider_than_the_terminal(seed: int) -> None:
    rng = random.Random(seed)
    states = list(GLYPHS)
    sessions = [
        (f"s{i}" + "x" * rng.randint(0, 25), rng.choice(states)) for i in range(rng.randint(1, 40))
    ]
    current = rng.choice(sessions)[0]
    width = rng.randint(40, 140)
    frags = toolbar_fragments(sessions, current, width)
    assert len(text(frags)) <= width
    visible = shown(frags)
    [mine] = [t.strip() for s, t in frags if s == "class:toolbar.current"]
    assert mine.split(" ")[0] == current or current.startswith(mine.rstrip("…"))
    counts = [int(m) for m in re.findall(r"\+(\d+) more", text(frags))]
    assert len(visible) + sum(counts) == len(sessions)


def test_a_name_too_long_for_the_terminal_is_shortened() -> None:
    long = "x" * 64
    frags = toolbar_fragments([("a", "idle"), (long, "streaming"), ("b", "idle")], long, 40)
    assert len(text(frags)) <= 40
    [mine] = [t for s, t in frags if s == "class:toolbar.current"]
    assert mine.strip().startswith("xxxx") and mine.strip().endswith("…")
    assert more(frags) == ["+1 more", "+1 more"]


def test_prompts_waiting_behind_a_reply_are_counted() -> None:
    frags = toolbar_fragments(
        [("main", "streaming"), ("beta", "queued"), ("gamma", "idle")],
        "gamma",
        100,
        {"main": 2, "beta": 1},
    )
    assert shown(frags) == ["main ⟳ +2 queued", "beta …2 queued", "gamma"]
