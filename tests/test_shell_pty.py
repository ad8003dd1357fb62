"""The interactive shell end to end, in a real pseudo-terminal (pexpect,
tests/pty_harness.py): keys go in as a user types them, Ctrl-C and Ctrl-Z
reach the process as signals through the terminal, and what is checked is
what the terminal shows. Timeouts are guards, not timing assertions."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from fakeserver import FakeServer
from helpers import CTRL_C, CTRL_D, CTRL_Z, SHIFT_TAB, TAB, UP, slow
from pty_harness import Launch, saved

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


# --------------------------------------------------------------------------- the core


def test_start_new_send_switch_and_quit(launch: Launch, home: Path) -> None:
    term = launch()
    term.line(":new beta")
    term.expect(r"created beta")
    term.prompt("beta")
    term.expect(r"beta\s+main")  # the toolbar lists both sessions
    term.line("hello there")
    term.expect(r"echo: hello there")
    term.prompt("beta")
    term.send(TAB)
    term.prompt("main")
    term.send(SHIFT_TAB)
    term.prompt("beta")
    term.send(SHIFT_TAB)
    term.prompt("main")
    # escape sequences in a reply never reach the terminal raw
    term.line("#fault=escape hi")
    term.expect(r"not markup\[/\] end\.")
    term.prompt("main")
    for raw in ("\x1b[2J", "\x1b]52", "\x1b]8;", "\x07"):
        assert raw not in term.raw
    term.send(CTRL_D)
    assert term.exit_status() == 0
    assert [m["content"] for m in saved(home, "beta")] == ["hello there", "echo: hello there"]


def test_ctrl_c_cancels_a_slow_reply_and_the_prompt_comes_back(
    launch: Launch, home: Path, server: FakeServer
) -> None:
    term = launch()
    term.line(slow(300, delay=0.1))
    term.expect(r"echo: w0 w1")
    term.send(CTRL_C)
    term.expect(r"interrupted")
    term.prompt("main")
    [_, reply] = saved(home, "main")
    assert reply["status"] == "interrupted"
    assert str(reply["content"]).startswith("echo: w0") and "w299" not in str(reply["content"])
    # Ctrl-C at the prompt only clears the line
    term.send("half typed")
    term.expect(r"half typed")
    term.send(CTRL_C)
    term.prompt("main")
    term.line("next")
    term.expect(r"echo: next")
    term.prompt("main")
    assert [r["body"]["messages"][-1]["content"] for r in server.requests][-1] == "next"
    term.send(CTRL_D)
    assert term.exit_status() == 0


def test_ctrl_z_moves_a_reply_to_the_background(launch: Launch, home: Path) -> None:
    term = launch()
    term.line(slow(20, word="z"))
    term.expect(r"echo: z0 z1")
    term.send(CTRL_Z)
    term.expect(r"\[main\] continues in the background")
    since = term.mark
    term.prompt("main")
    term.line(":new beta")
    term.prompt("beta")
    term.line("meanwhile")
    term.expect(r"echo: meanwhile")
    term.seen(r"\[main\] reply done · \d+ tokens", since)
    assert "echo: z" not in term.plain[since:]  # not printed in beta's transcript
    term.send(TAB)
    term.expect(r"main · new reply")
    term.expect(r"z19")
    term.prompt("main")
    assert saved(home, "main")[-1]["status"] == "done"
    term.send(CTRL_D)
    assert term.exit_status() == 0


def test_ampersand_returns_at_once_and_the_toolbar_shows_states(launch: Launch) -> None:
    term = launch()
    term.line(":new beta")
    term.prompt("beta")
    term.send(TAB)
    term.prompt("main")
    term.line(slow(20, word="bg") + " &")
    term.prompt("main")  # back at once, while the reply streams
    since = term.mark
    term.expect(r"main ⟳")
    term.send(TAB)
    term.prompt("beta")
    term.line("chat here")
    term.expect(r"echo: chat here")
    term.seen(r"\[main\] reply done", since)
    term.seen(r"main ●new", since)
    assert "echo: bg" not in term.plain[since:]  # not printed in beta's transcript
    term.send(SHIFT_TAB)
    term.expect(r"main · new reply")
    term.expect(r"bg19")
    term.prompt("main")
    term.send(CTRL_D)
    assert term.exit_status() == 0


def test_ctrl_d_while_a_reply_streams_asks_before_quitting(launch: Launch, home: Path) -> None:
    term = launch()
    term.line(slow(300) + " &")
    term.prompt("main")
    term.send(CTRL_D)
    term.expect(r"1 reply is still streaming; quit and cancel\? \[y/N\]")
    term.line("n")
    term.prompt("main")
    assert term.child.isalive()
    term.send(CTRL_D)
    term.expect(r"quit and cancel\?")
    term.line("y")
    assert term.exit_status() == 0
    [_, reply] = saved(home, "main")
    assert reply["status"] == "interrupted"


def test_relaunch_shows_the_history(launch: Launch) -> None:
    first = launch()
    first.line(":new notes")
    first.prompt("notes")
    first.line("remember the milk")
    first.expect(r"echo: remember the milk")
    first.prompt("notes")
    first.line(":quit")
    assert first.exit_status() == 0

    again = launch("notes")  # the last session reopens
    again.send(UP)  # the input history is kept too
    again.expect(r":quit")
    again.send(CTRL_C)
    again.prompt("notes")
    again.line(":history")
    again.expect(r"remember the milk")
    again.expect(r"echo: remember the milk")
    again.prompt("notes")
    again.send(CTRL_D)
    assert again.exit_status() == 0


def test_a_bidi_control_typed_on_the_prompt_line_is_shown_by_name(
    launch: Launch, home: Path
) -> None:
    term = launch()
    term.send("abc\u202edef")
    term.expect(r"abc⟦U\+202E⟧def")
    term.line("")
    term.expect(r"echo: abc⟦U\+202E⟧def")
    term.prompt("main")
    assert "\u202e" not in term.raw  # never reached the terminal raw
    term.send(CTRL_D)
    assert term.exit_status() == 0
    assert saved(home, "main")[0]["content"] == "abc\u202edef"  # the text itself is kept
