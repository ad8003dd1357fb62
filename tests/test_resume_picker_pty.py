"""``-r`` without a name on a terminal: the list of sessions to resume, in a
real pseudo-terminal drawn on a pyte screen. Timeouts are guards."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pexpect
import pytest
from conftest import run_proc
from fakeserver import FakeServer
from helpers import new_store

from copilot_repl.cli.launch import pick

pyte = pytest.importorskip("pyte")

from screen_harness import Screen  # noqa: E402  (after the skip: pyte may be missing)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


@pytest.mark.parametrize("size", [(16, 80), (24, 60)])
def test_the_newest_sessions_are_in_view_next_to_the_question(
    server: FakeServer, home: Path, size: tuple[int, int]
) -> None:
    """Nine sessions at 80x16: the list (newest first, three rows each)
    scrolled the newest off the top; the question sat under the oldest. The
    newest are shown next to the question, as many as the pane holds, each
    preview on one row; 1 is still the newest."""
    script = "".join(f":new s{i}\nquestion number {i} {'x' * 80}\n" for i in range(1, 10))
    assert run_proc(["--base-url", server.url], stdin=script).code == 0
    rows, cols = size
    screen = Screen(server.url, home, rows, cols, args=["-r"])
    try:
        screen.wait(lambda: "resume which" in screen.display, "the question")
        shown = [r for r in screen.display.splitlines() if r.strip()]
        assert shown[-1].startswith("resume which"), shown
        assert any(r.split()[:2] == ["1", "s9"] for r in shown), shown
        assert any(r.split()[:2] == ["2", "s8"] for r in shown), shown
        assert screen.history() == [], screen.transcript()  # nothing scrolled off
        assert "› question number 9" in screen.display
        assert shown[0].startswith("  … ") and "not shown" in shown[0], shown  # s1 at least
        screen.child.send("1\r")
        screen.prompt("s9")
    finally:
        screen.close()


@pytest.mark.parametrize("key", ["\x04", "\x03"])
def test_ctrl_d_or_ctrl_c_at_the_question_ends_the_line(
    server: FakeServer, home: Path, key: str
) -> None:
    """Ctrl-D (none picked: exit 0) or Ctrl-C (exit 130) at the question left
    the cursor after it: the shell's next prompt began on the question's line."""
    assert run_proc(["--base-url", server.url, "--session", "s1", "-p", "hi"]).code == 0
    screen = Screen(server.url, home, 24, 80, args=["-r"])
    try:
        screen.wait(lambda: "resume which" in screen.display, "the question")
        screen.child.send(key)
        screen.child.expect(pexpect.EOF)
        screen.stream.feed(screen.child.before or "")
        screen.child.close()
        assert screen.child.exitstatus == (0 if key == "\x04" else 130)
        x, y = screen.screen.cursor.x, screen.screen.cursor.y
        assert x == 0 and "resume which" in screen.screen.display[y - 1], screen.display
    finally:
        screen.close()


class InterruptedAtFlush(io.StringIO):
    """A terminal whose Ctrl-C arrives as the question reaches it: Python
    raises KeyboardInterrupt at the next step, before the read begins (a
    loaded machine makes that moment long; the pty test above met it)."""

    def flush(self) -> None:
        super().flush()
        raise KeyboardInterrupt


def test_ctrl_c_as_soon_as_the_question_shows_still_ends_the_line(home: Path) -> None:
    store = new_store(home, "s1")
    out = InterruptedAtFlush()
    with pytest.raises(KeyboardInterrupt):
        pick(store, store.summaries(), io.StringIO("1\n"), out)
    assert out.getvalue().endswith("resume which (number or name; Enter: none)? \n")
