"""The differential conformance suite: each SDK program in ``programs/`` runs
on the real github-copilot-sdk + ``copilot`` CLI (BYOK, loopback server) and
on copilot_repl with its imports switched; any difference not listed in
ALLOWED.md fails (see runner.py). Skipped, with the reason, where a real SDK
or its CLI is not installed (``make test`` installs them)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from runner import (
    ALLOWED,
    PROGRAMS,
    Allowed,
    Observed,
    Run,
    all_programs,
    compare,
    load_allowed,
    missing,
    observe,
    program_shape,
    run_program,
    swap_imports,
)

from copilot_repl.api.events import EMITTED_TYPES

PROGRAM_FILES = all_programs()


@pytest.mark.parametrize("program", PROGRAM_FILES, ids=[p.stem for p in PROGRAM_FILES])
def test_the_program_behaves_as_on_the_real_sdk(program: Path, tmp_path: Path) -> None:
    reason = missing(program_shape(program))
    if reason:
        pytest.skip(reason)
    outcome = run_program(program, tmp_path)
    assert outcome.sdk.trace, outcome.report()  # the real side ran and was observed
    assert not outcome.failures, outcome.report()


# -- the runner itself (no CLI needed) --------------------------------------------
def observed(events: list[str], code: int = 0) -> Observed:
    return Observed({"S1": events}, {"S1": ["echo: hi"]}, ["hi"], code, ["hi"])


def test_a_difference_in_events_fails_unless_allowed() -> None:
    turn = ["user.message", "assistant.turn_start", "assistant.message", "assistant.turn_end"]
    sdk, repl = observed([*turn, "session.idle"]), observed(turn)
    [diff] = compare("p", sdk, repl, Allowed())
    assert diff.what == "events S1" and diff.allowed_because is None
    allowed = Allowed(differences={("p", "events S1"): "why"})
    [diff] = compare("p", sdk, repl, allowed)
    assert diff.allowed_because == "why"
    assert compare("p", sdk, observed([*turn, "session.idle"]), Allowed()) == []
    assert [d.what for d in compare("p", sdk, observed([*turn, "session.idle"], 1), Allowed())] == [
        "exit"
    ]


def run_of(*kinds: str, session: str = "abc") -> Run:
    trace = [{"kind": "create", "session": session}]
    trace += [{"kind": "event", "session": session, "type": k} for k in kinds]
    return Run("x", 0, "", "", trace, [])


def test_unordered_and_loose_types_are_normalised_but_the_rest_is_kept() -> None:
    allowed = load_allowed(ALLOWED)
    turn = ("user.message", "assistant.turn_start", "assistant.message", "assistant.turn_end")
    pending, delta = "pending_messages.modified", "assistant.message_delta"
    a = observe(run_of(pending, turn[0], turn[1], delta, delta, *turn[2:], "session.idle"), allowed)
    b = observe(run_of(turn[0], turn[1], pending, delta, *turn[2:], "session.idle"), allowed)
    assert a.events == b.events
    assert a.events["S1"][-1] == f"{pending} (seen)"
    c = observe(run_of(*turn, pending, "session.idle", "session.idle"), allowed)
    assert c.events != a.events  # a second idle is a difference
    d = observe(run_of(*turn, "session.usage_info", "session.idle", session="xyz"), allowed)
    assert d.events == {"S1": [*turn, "session.idle"]}  # ignored CLI-only type


def request(*messages: tuple[str, str], model: str = "gpt-4.1", **body: object) -> dict:
    chat = [{"role": r, "content": c} for r, c in messages]
    return {
        "path": "/v1/chat/completions",
        "headers": {},
        "body": {"model": model, "messages": chat, **body},
    }


def test_requests_are_compared_whole_per_conversation_and_in_order() -> None:
    """History, model and other keys count; the CLI's prompt tags and the
    fields ALLOWED.md names (its system prompt, tools, sampling) do not."""
    allowed = load_allowed(ALLOWED)
    tag = "<current_datetime>2026-01-01T00:00:00Z</current_datetime>\n\n"
    sdk = Run(
        "sdk",
        0,
        "",
        "",
        [],
        [
            request(("system", "You are GitHub Copilot"), ("user", tag + "one"), temperature=0),
            request(("user", tag + "one"), ("user", tag + "two"), tools=[]),
        ],
    )
    same = Run(
        "repl", 0, "", "", [], [request(("user", "one")), request(("user", "one"), ("user", "two"))]
    )
    partial = Run(
        "repl",
        0,
        "",
        "",
        [],
        [
            request(("user", "one")),
            request(("user", "one"), ("assistant", "echo: o"), ("user", "two")),
        ],
    )
    other_model = Run(
        "repl",
        0,
        "",
        "",
        [],
        [request(("user", "one"), model="x"), request(("user", "one"), ("user", "two"))],
    )
    a = observe(sdk, allowed)
    assert compare("p", a, observe(same, allowed), allowed) == []
    assert [d.what for d in compare("p", a, observe(partial, allowed), allowed)] == ["requests C1"]
    assert [d.what for d in compare("p", a, observe(other_model, allowed), allowed)] == [
        "requests C1"
    ]


def test_the_envelope_data_fields_and_get_events_are_compared() -> None:
    allowed = load_allowed(ALLOWED)

    def run(parent: str | None, status: int | None, saved: list[str]) -> Run:
        trace = [
            {"kind": "create", "session": "s"},
            {"kind": "event", "session": "s", "type": "session.start", "id": "1", "parent": None},
            {
                "kind": "event",
                "session": "s",
                "type": "session.error",
                "id": "2",
                "parent": parent,
                "fields": {"error_type": "query", "status_code": status},
            },
            {
                "kind": "history",
                "session": "s",
                "events": [
                    {"type": "session.start", "id": i}
                    if i == "1"
                    else {"type": "session.error", "id": i}
                    for i in saved
                ],
            },
        ]
        return Run("x", 0, "", "", trace, [])

    good = observe(run("1", 404, ["1", "2"]), allowed)
    assert compare("p", good, observe(run("1", 404, ["1", "2"]), allowed), allowed) == []
    found = {
        d.what for d in compare("p", good, observe(run(None, None, ["1", "3"]), allowed), allowed)
    }
    assert found == {"envelope S1", "fields S1", "history S1"}


def test_the_allow_list_parses_and_names_real_programs() -> None:
    allowed = load_allowed(ALLOWED)
    assert "session.usage_info" in allowed.ignored_types
    assert allowed.loose_types == {"assistant.message_delta"}
    assert allowed.unordered_types == {"pending_messages.modified"}
    names = {p.stem for p in PROGRAM_FILES}
    for program, what in allowed.differences:
        assert program in names, f"ALLOWED.md names no program {program!r}"
        assert what.split()[0] in {
            "exit",
            "stdout",
            "asked",
            "events",
            "replies",
            "fields",
            "envelope",
            "history",
            "requests",
        }


def test_the_allow_list_ignores_no_event_copilot_repl_must_match() -> None:
    """Ignoring an SDK event type copilot_repl emits would hide a difference."""
    ours = {t.value for t in EMITTED_TYPES}
    allowed = load_allowed(ALLOWED)
    assert not (allowed.ignored_types & ours)
    assert allowed.ignored_types_01 <= {"session.start", "session.resume"}


def test_every_program_declares_its_sdk_shape() -> None:
    assert PROGRAM_FILES and all(p.parent == PROGRAMS for p in PROGRAM_FILES)
    assert {program_shape(p) for p in PROGRAM_FILES} == {"0.1", "1.0"}


def test_swapping_imports_changes_only_the_package_name() -> None:
    text = (
        "import asyncio\nfrom copilot import CopilotClient\n"
        "from copilot.session_events import SessionIdleData\nimport copilot.types\n"
        'x = "from copilot import"  # copilot stays in strings and comments\n'
        "from copilot_extra import y\n"
    )
    assert swap_imports(text) == (
        "import asyncio\nfrom copilot_repl import CopilotClient\n"
        "from copilot_repl.session_events import SessionIdleData\nimport copilot_repl.types\n"
        'x = "from copilot import"  # copilot stays in strings and comments\n'
        "from copilot_extra import y\n"
    )


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_swapping_imports_leaves_text_without_copilot_imports_alone(text: str) -> None:
    if "copilot" not in text:
        assert swap_imports(text) == text


def test_an_optional_event_is_dropped_only_where_allowed_md_says() -> None:
    """`session.idle` right after `session.error` may be missing on the SDK
    side; anywhere else a missing idle is a difference."""
    allowed = load_allowed(ALLOWED)
    failed = ("user.message", "assistant.turn_start", "assistant.turn_end", "session.error")
    with_idle = observe(run_of(*failed, "session.idle"), allowed)
    without = observe(run_of(*failed), allowed)
    assert compare("p", with_idle, without, allowed) == []
    answered = ("user.message", "assistant.turn_start", "assistant.message", "assistant.turn_end")
    a, b = observe(run_of(*answered, "session.idle"), allowed), observe(run_of(*answered), allowed)
    assert [d.what for d in compare("p", a, b, allowed)] == ["events S1", "envelope S1"]
