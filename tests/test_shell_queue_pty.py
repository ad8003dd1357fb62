"""Typing while a reply streams, in a real pseudo-terminal: the terminal
hands the line over on Enter (echo off), it is queued, echoed, and answered
after the reply."""

from __future__ import annotations

from pathlib import Path

from helpers import slow
from pty_harness import Launch, saved


def test_a_line_typed_while_a_reply_streams_is_queued(launch: Launch, home: Path) -> None:
    term = launch()
    term.line(slow(60, word="q"))
    term.expect(r"q5 ")
    term.send("typed meanwhile\r")
    term.expect(r"queued for main, #1 in line: typed meanwhile")
    term.expect(r"echo: typed meanwhile")
    term.prompt("main")
    assert [m["content"] for m in saved(home, "main")][2:] == [
        "typed meanwhile",
        "echo: typed meanwhile",
    ]
