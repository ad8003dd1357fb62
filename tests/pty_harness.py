"""copilot-repl in a real pseudo-terminal (pexpect), for the tests that
drive it as a user does (the ``launch`` fixture is in conftest.py).

prompt_toolkit asks for the cursor position (``ESC [6n``) before drawing a
prompt; ``Term`` answers each request, as a terminal would, or the bottom
toolbar would not be drawn. Timeouts are guards, not timing assertions."""

from __future__ import annotations

import contextlib
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pexpect
from helpers import session_records

ROOT = Path(__file__).resolve().parent.parent
GUARD = 10.0
ESC_RE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[ -/]*[0-~])")
CPR_REQUEST, CPR_ANSWER = "\x1b[6n", "\x1b[1;1R"

Launch = Callable[..., "Term"]


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
        self.drain()
        self.child.wait()
        return int(self.child.exitstatus)

    def drain(self) -> None:
        """Take what the terminal still holds after the child ended: output
        written just before the exit may not have been read yet."""
        end = time.monotonic() + GUARD
        while time.monotonic() < end:
            try:
                self._take(self.child.read_nonblocking(65536, timeout=0.1))
            except pexpect.EOF:
                return
            except pexpect.TIMEOUT:
                if not self.child.isalive():
                    return


@contextlib.contextmanager
def launcher(url: str, home: Path) -> Iterator[Launch]:
    """Start copilot-repl (on the server at ``url``) in a pseudo-terminal;
    wait for the prompt of ``session``. Every process is ended on leaving."""
    children: list[pexpect.spawn] = []

    def start(session: str = "main") -> Term:
        env = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "xterm"}
        env.pop("NO_COLOR", None)
        child = pexpect.spawn(
            sys.executable,
            ["-m", "copilot_repl", "--base-url", url],
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

    try:
        yield start
    finally:
        for child in children:
            if child.isalive():
                child.terminate(force=True)
            child.close()


def saved(home: Path, name: str) -> list[dict[str, object]]:
    """The messages saved in session ``name``."""
    return [r for r in session_records(home, name) if r.get("t") == "msg"]
