"""The interactive shell end to end, in a real pseudo-terminal (pexpect):
keys go in as a user types them, Ctrl-C and Ctrl-Z reach the process as
signals through the terminal, and what is checked is what the terminal shows.

prompt_toolkit asks for the cursor position (``ESC [6n``) before drawing a
prompt; ``Term`` answers each request, as a terminal would, or the bottom
toolbar would not be drawn. Timeouts are guards, not timing assertions."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
import pytest
from fakeserver import FakeServer

ROOT = Path(__file__).resolve().parent.parent
GUARD = 10.0
ESC_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]*[0-~])")
CPR_REQUEST, CPR_ANSWER = "\x1b[6n", "\x1b[1;1R"
TAB, SHIFT_TAB, CTRL_C, CTRL_D, CTRL_Z, UP = "\t", "\x1b[Z", "\x03", "\x04", "\x1a", "\x1b[A"

Launch = Callable[..., "Term"]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


class Term:
    """A copilot-repl process in a pseudo-terminal, and what it has shown.

    ``plain`` is the output with escape sequences removed; ``expect`` looks
    for a pattern in it after what earlier ``expect`` calls consumed."""

    def __init__(self, child: pexpect.spawn) -> None:
        self.child = child
        self.raw = ""
        self.plain = ""
        self._pending = ""
        self.mark = 0

    def _take(self, data: str) -> None:
        self.raw += data
        self._pending += data
        cut = self._pending.rfind("\x1b")
        # keep an unfinished escape sequence for the next read
        if cut != -1 and not ESC_RE.match(self._pending, cut) and len(self._pending) - cut < 64:
            done, self._pending = self._pending[:cut], self._pending[cut:]
        else:
            done, self._pending = self._pending, ""
        for _ in range(done.count(CPR_REQUEST)):
            self.child.send(CPR_ANSWER)
        self.plain += ESC_RE.sub("", done).replace("\r", "")

    def pump(self, timeout: float = 0.05) -> None:
        with contextlib.suppress(pexpect.TIMEOUT):
            self._take(self.child.read_nonblocking(65536, timeout=timeout))

    def expect(self, pattern: str, timeout: float = GUARD) -> re.Match[str]:
        rx = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            m = rx.search(self.plain, self.mark)
            if m:
                self.mark = m.end()
                return m
            if time.monotonic() > end:
                seen = self.plain[self.mark :][-1500:]
                raise AssertionError(f"{pattern!r} not shown; the terminal showed: {seen!r}")
            self.pump(0.1)

    def seen(self, pattern: str, since: int) -> None:
        """Wait until ``pattern`` has been shown after offset ``since``, in
        whatever order with what ``expect`` consumed; the mark moves past it."""
        mark, self.mark = self.mark, since
        try:
            self.expect(pattern)
        finally:
            self.mark = max(mark, self.mark)

    def prompt(self, name: str) -> None:
        """Wait for the prompt of session ``name``."""
        self.expect(rf"{re.escape(name)} openai:\S+ ›")

    def send(self, keys: str) -> None:
        self.child.send(keys)

    def line(self, text: str) -> None:
        self.child.send(text + "\r")

    def exit_status(self) -> int:
        end = time.monotonic() + GUARD
        while self.child.isalive():
            if time.monotonic() > end:
                raise AssertionError("the shell did not exit")
            with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
                self._take(self.child.read_nonblocking(65536, timeout=0.1))
        self.child.wait()
        return int(self.child.exitstatus)


@pytest.fixture
def launch(server: FakeServer, home: Path) -> Iterator[Launch]:
    """Start copilot-repl in a pseudo-terminal; wait for the prompt of ``session``."""
    children: list[pexpect.spawn] = []

    def start(session: str = "main") -> Term:
        env = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "xterm"}
        env.pop("NO_COLOR", None)
        child = pexpect.spawn(
            sys.executable,
            ["-m", "copilot_repl", "--base-url", server.url],
            env=env,
            cwd=str(ROOT),
            dimensions=(30, 100),
            encoding="utf-8",
            timeout=GUARD,
        )
        children.append(child)
        term = Term(child)
        term.prompt(session)
        return term

    yield start
    for child in children:
        if child.isalive():
            child.terminate(force=True)
        child.close()


def slow(n: int, delay: float = 0.05, word: str = "w") -> str:
    return f"#delay={delay} " + " ".join(f"{word}{i}" for i in range(n))


def saved(home: Path, name: str) -> list[dict[str, object]]:
    path = home / "sessions" / f"{name}.jsonl"
    recs = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    return [r for r in recs if r.get("t") == "msg"]


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
