"""Issue 25 (a user's first day, round three) in the interactive shell: a
real pseudo-terminal (pexpect), keys typed as a user types them, and what
the terminal shows checked. Timeouts are guards, not timing assertions."""

from __future__ import annotations

import sys

import pytest
import test_shell_pty
from test_shell_pty import CTRL_D, Launch, slow

launch = test_shell_pty.launch  # the fixture: copilot-repl in a pseudo-terminal

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


def test_diff_in_colour_keeps_a_space_between_removed_and_added(launch: Launch) -> None:
    """12: removed and added words ran together (``betagamma``)."""
    term = launch()
    term.line(":new a")
    term.prompt("a")
    term.line("alpha beta")
    term.expect(r"echo: alpha beta")
    term.line(":new b")
    term.prompt("b")
    term.line("alpha gamma")
    term.expect(r"echo: alpha gamma")
    term.prompt("b")
    term.line(":diff a b")
    term.expect(r"\+\+\+ b")
    term.expect(r"echo: alpha beta gamma")
    term.expect(r"alike")


def test_ctrl_d_after_a_background_reply_ended_quits_without_asking(launch: Launch) -> None:
    """11: Ctrl-D right after ``reply done`` asked "1 reply is still
    streaming" (the ended turn was still the session's for a moment)."""
    term = launch()
    term.line(slow(10, 0.02) + " &")
    term.prompt("main")
    term.expect(r"\[main\] reply done")
    term.send(CTRL_D)
    assert term.exit_status() == 0
    assert "still streaming" not in term.plain
