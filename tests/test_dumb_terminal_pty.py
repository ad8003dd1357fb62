"""TERM=dumb (Emacs' M-x shell, say): prompt_toolkit's simplest prompt,
which prints the prompt and the keys as typed, and no escape sequence of
ours. Timeouts are guards."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pexpect
import pytest
from fakeserver import FakeServer
from helpers import CTRL_D
from pty_harness import GUARD, ROOT, Term

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


def dumb(server: FakeServer, home: Path) -> Term:
    env = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "dumb"}
    env.pop("NO_COLOR", None)
    cmd = [sys.executable, "-m", "copilot_repl", "--base-url", server.url]
    child = pexpect.spawn(
        cmd[0], cmd[1:], env=env, cwd=str(ROOT), dimensions=(24, 80), encoding="utf-8",
        timeout=GUARD,
    )  # fmt: skip
    return Term(child)


def test_the_prompt_line_is_in_the_scrollback_once(server: FakeServer, home: Path) -> None:
    """The dumb prompt leaves the prompt and the line typed on the screen;
    the shell printed them again (in colour): the line twice, with escape
    sequences the terminal shows as text."""
    term = dumb(server, home)
    try:
        term.expect("Ctrl-D quits")
        term.expect("› ")
        term.line("hello there")
        term.expect("echo: hello there")
        term.expect("› ")
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        term.child.close(force=True)
    assert term.raw.count("hello there") == 2, term.raw  # the line typed, the reply
    assert "main openai:gpt-4o-mini › hello there" in term.raw
    assert "\x1b[0;1m" not in term.raw and "\x1b[?7h" not in term.raw, term.raw  # no echo in colour


def test_a_reply_streams_as_text_without_cursor_moves(server: FakeServer, home: Path) -> None:
    """A reply was drawn with the live region's erasing and cursor moves
    (``\\r\\x1b[2K``, the toolbar under it), which a dumb terminal shows as
    text: it streams as the text arrives, as with --plain."""
    term = dumb(server, home)
    try:
        term.expect("Ctrl-D quits")
        term.expect("› ")
        term.line("hello #deltas=30 #delay=0.01")
        term.expect("tokens")
        term.expect("› ")
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        term.child.close(force=True)
    reply = term.raw.split("› hello #deltas=30 #delay=0.01")[1].split("tokens")[0]
    assert "Section 1" in reply, reply
    assert "\x1b[" not in reply, repr(reply)


def test_ask_shows_only_the_final_table_without_cursor_moves(
    server: FakeServer, home: Path
) -> None:
    """``:ask``'s live columns were drawn with the live region's cursor moves,
    shown as text on a dumb terminal: there it prints the final table alone."""
    term = dumb(server, home)
    try:
        term.expect("Ctrl-D quits")
        term.expect("› ")
        term.line(":new s2")
        term.expect("› ")
        term.line(":ask main,s2 tell me #deltas=20 #delay=0.01")
        term.expect("s2")
        term.expect("› ")
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        term.child.close(force=True)
    table = term.raw.split("› :ask main,s2 tell me #deltas=20 #delay=0.01")[1].split("› ")[0]
    assert "Section 1" in table and "s2" in table, table
    assert "\x1b[" not in table, repr(table)
