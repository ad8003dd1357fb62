"""The first frame (shell/first_frame.py), end to end in a pseudo-terminal:
the prompt is drawn before prompt_toolkit takes the terminal, keys typed
meanwhile reach the prompt as typed, and the terminal's modes are given back.
No timing is asserted."""

from __future__ import annotations

import os
import re
import shlex
import sys
import time
from pathlib import Path

import pexpect
import pytest
from fakeserver import FakeServer
from helpers import CTRL_D
from pty_harness import GUARD, ROOT, Term, saved

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
PROMPT = re.compile(r"main\x1b\[[0-9;]*m openai:\S+\x1b\[0m ›")
EDITOR_READY = "\x1b[?2004h"  # prompt_toolkit's first output: bracketed paste on


def spawn(server: FakeServer, home: Path, *, then: str = "") -> Term:
    env = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    cmd = shlex.join([sys.executable, "-m", "copilot_repl", "--base-url", server.url])
    child = pexpect.spawn(
        "/bin/sh",
        ["-c", f"{cmd}; {then}" if then else f"exec {cmd}"],
        env=env,
        cwd=str(ROOT),
        dimensions=(30, 100),
        encoding="utf-8",
        timeout=GUARD,
    )
    return Term(child)


def first_prompt(term: Term) -> None:
    """Read until the prompt has been drawn once (the frame, or prompt_toolkit's)."""
    end = time.monotonic() + GUARD
    while time.monotonic() < end:
        if PROMPT.search(term.raw):
            return
        term.pump(0.02)
    raise AssertionError(f"no prompt; the terminal showed {term.raw[-500:]!r}")


def test_the_prompt_is_drawn_before_the_line_editor_takes_the_terminal(
    server: FakeServer, home: Path
) -> None:
    term = spawn(server, home)
    try:
        term.expect("Ctrl-D quits")
        term.prompt("main")
        end = time.monotonic() + GUARD
        while EDITOR_READY not in term.raw and time.monotonic() < end:
            term.pump(0.1)
        frame = PROMPT.search(term.raw)
        assert frame is not None
        assert frame.start() < term.raw.index(EDITOR_READY)
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        term.child.close(force=True)


def test_keys_typed_while_the_frame_is_up_reach_the_prompt(server: FakeServer, home: Path) -> None:
    term = spawn(server, home)
    try:
        first_prompt(term)
        term.line("hello there")  # at once: prompt_toolkit may not be ready yet
        term.expect(r"echo: hello there")
        term.prompt("main")
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        term.child.close(force=True)
    assert [m["content"] for m in saved(home, "main")] == ["hello there", "echo: hello there"]
    typed = term.plain.split("echo: hello there")[0]
    assert "hello there\nhello there" not in typed  # not echoed by the terminal as well


def test_the_terminal_modes_are_given_back_at_exit(server: FakeServer, home: Path) -> None:
    term = spawn(server, home, then="stty -a")
    try:
        first_prompt(term)
        term.send(CTRL_D)
        term.expect(r"speed \d+ baud")
        term.expect(r"-?icrnl")
        term.exit_status()
    finally:
        term.child.close(force=True)
    modes = set(term.plain.split())
    assert {"echo", "icanon", "icrnl", "isig"} <= modes, sorted(modes)


def test_keys_typed_after_the_hand_over_are_not_echoed_until_given_back() -> None:
    """Between ``hand_over`` and prompt_toolkit's raw mode the terminal must
    not echo: a prompt typed then (a loaded machine makes that moment
    long) was echoed by the terminal into the scrollback, then drawn and
    echoed again by the shell (test_live_view_firstday.py, issue 25 point 2).
    The keys stay as typed for the prompt to read; ``give_back`` restores
    the modes found."""
    import termios

    from copilot_repl.shell.first_frame import FirstFrame

    master, slave = os.openpty()
    termios.tcsetwinsize(slave, (24, 80))
    screen = os.fdopen(os.dup(slave), "w")
    keys = os.fdopen(os.dup(slave), "rb", buffering=0)
    try:
        found = termios.tcgetattr(slave)
        frame = FirstFrame.show(screen, keys, [("", "main › ")], plain=True)
        assert frame is not None
        frame.hand_over()
        assert not termios.tcgetattr(slave)[3] & termios.ECHO
        os.write(master, b"typed then\r")
        got = b""
        while len(got) < len(b"typed then\r"):  # each read waits for keys
            got += keys.read(64) or b""
        assert got == b"typed then\r"  # as typed: Enter not made a newline, no line held
        frame.give_back()
        assert termios.tcgetattr(slave) == found
        frame.clear()  # given back once only: the modes stay
        assert termios.tcgetattr(slave) == found
    finally:
        screen.close()
        keys.close()
        os.close(slave)
        os.close(master)
