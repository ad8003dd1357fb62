"""Issue 25 bug 8, a single reply: tmux (which re-wraps its lines on a
resize, as most terminals do) resized while a slow reply streams: narrower,
wider, shorter, taller; the screen not yet full (a fresh shell, the reply
near the top) or full (earlier output scrolled). Once the reply has ended the
scrollback holds the prompt line once and each word of the reply as often as
the reply has it, and no toolbar; while it streams, from the resize on, no
word shows twice on the screen (not even for a frame). Timeouts are
guards, not timing assertions."""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply
from screen_harness import GUARD, Tmux, counts, newest

pytestmark = [
    pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal"),
    pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux"),
]

PROMPT = "tell me a long story"
PARAGRAPH = " ".join(f"p{i}" for i in range(400))
# a paragraph, a code block of 60 rows (each of its words twice), a paragraph
CODE = (
    " ".join(f"p{i}" for i in range(80))
    + "\n\n```python\n"
    + "".join(f"value_{i} = compute(p{i})  # step p{i}\n" for i in range(80, 140))
    + "```\n\n"
    + " ".join(f"p{i}" for i in range(140, 300))
)
REPLIES = {
    "paragraph": (PARAGRAPH, {f"p{i}": 1 for i in range(400)}),
    "code": (CODE, {f"p{i}": 2 if 80 <= i < 140 else 1 for i in range(300)}),
}
AT_PROMPT = r"(?m)^main openai:\S+ ›$"


def fill(t: Tmux) -> None:
    """Earlier output taller than the screen: the reply starts at its bottom."""
    for n in (1, 2):
        t.line(":help")
        t.until(lambda s, n=n: t.scrollback().count("wait for background") == n, ":help")
    t.until(lambda s: re.search(AT_PROMPT, s), "the prompt")


def twice(text: str, want: dict[str, int]) -> list[str]:
    """The words of the reply ``text`` shows more often than the reply has them."""
    return sorted(w for w, c in counts(text).items() if c > want.get(w, 1))


@pytest.mark.parametrize(
    ("before", "after", "full", "reply", "at"),
    [
        # narrower, the screen not full: the region's top rows, re-wrapped,
        # were pushed into the scrollback (tmux keeps the blank rows under
        # the cursor) and drawn again under them
        ((100, 30), (60, 30), False, "paragraph", 250),
        ((120, 24), (80, 24), False, "paragraph", 250),
        ((100, 30), (60, 30), True, "paragraph", 250),
        ((80, 16), (60, 16), True, "code", 100),
        ((80, 24), (120, 24), False, "paragraph", 250),  # wider
        ((80, 30), (80, 12), True, "paragraph", 250),  # shorter
        ((80, 16), (80, 30), False, "code", 100),  # taller
    ],
    ids=lambda v: "x".join(map(str, v)) if isinstance(v, tuple) else str(v),
)
def test_a_reply_streaming_in_tmux_survives_a_resize(
    server: FakeServer,
    home: Path,
    before: tuple[int, int],
    after: tuple[int, int],
    full: bool,
    reply: str,
    at: int,
) -> None:
    text, want = REPLIES[reply]
    t = Tmux(server.url, home, *before)
    shown_twice: list[tuple[int, list[str]]] = []
    try:
        t.until(lambda s: "main openai:" in s, "the prompt")
        if full:
            fill(t)
        server.queue(Reply(text=text, delay=0.02))
        t.line(PROMPT)
        t.until(lambda s: newest(s) >= at, f"word {at}")
        t.tmux("resize-window", "-t", t.name, "-x", str(after[0]), "-y", str(after[1]))
        end = time.monotonic() + GUARD
        while True:  # from then to the end of the reply: no word twice on the screen
            # (-J: "p1" / "7" is p17, re-wrapped by tmux)
            s = t.tmux("capture-pane", "-p", "-J", "-t", t.name)
            if "tok/s" in s:
                break
            assert time.monotonic() < end, f"the reply did not end:\n{s}"
            if found := twice(s, want):
                shown_twice.append((newest(s), found))
        t.until(lambda s: re.search(AT_PROMPT, s) and "⟳" not in s, "the prompt")
        text = t.scrollback()
    finally:
        t.close()
    assert not shown_twice, shown_twice[:3]
    assert text.count(f"main openai:gpt-4o-mini › {PROMPT}") == 1, text
    got = counts(text)
    assert {w: c for w, c in got.items() if c != want.get(w)} == {}, text
    assert set(got) == set(want), text
    # no toolbar left between the prompt line and the next prompt
    end = [m.start() for m in re.finditer(AT_PROMPT, text)][-1]
    rows = text[text.index(f"› {PROMPT}") : end].splitlines()
    assert not [row for row in rows if "⟳" in row or "main" in row], text
