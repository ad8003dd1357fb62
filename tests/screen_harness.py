"""copilot-repl in a real pseudo-terminal whose output is drawn on a pyte
screen, for the tests of what the live view shows (the ``term`` fixture is in
conftest.py). pyte cuts lines when the terminal gets narrower, as xterm does;
the shell is told so (``XTERM_VERSION``)."""

from __future__ import annotations

import contextlib
import copy
import os
import re
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pexpect
import pyte
from pyte.screens import StaticDefaultDict

ROOT = Path(__file__).resolve().parent.parent
GUARD = 30.0  # seconds: a guard against a hang, generous for a loaded machine

Start = Callable[[int, int], "Screen"]


ALT_SCREEN = 1049  # xterm's private mode: the alternate screen, the cursor saved


class Terminal(pyte.HistoryScreen):
    """pyte's screen with a scrollback, and the alternate screen of xterm
    (private mode 1049, which pyte ignores): entering it saves the cursor
    and shows an empty screen; what scrolls off it is not kept; leaving it
    shows the normal screen as it was, the cursor where it was. A resize
    meanwhile resizes both."""

    def __init__(self, columns: int, lines: int) -> None:
        super().__init__(columns, lines, history=100_000, ratio=0.5)
        self.normal: tuple[Any, Any] | None = None  # the normal screen's buffer and cursor

    def set_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private") and ALT_SCREEN in modes and self.normal is None:
            self.normal = (self.buffer, copy.copy(self.cursor))
            self.buffer = defaultdict(lambda: StaticDefaultDict(self.default_char))
            self.dirty.update(range(self.lines))
        super().set_mode(*modes, **kwargs)

    def reset_mode(self, *modes: int, **kwargs: Any) -> None:
        if kwargs.get("private") and ALT_SCREEN in modes and self.normal is not None:
            self.buffer, self.cursor = self.normal
            self.normal = None
            self.ensure_hbounds()
            self.ensure_vbounds()
            self.dirty.update(range(self.lines))
        super().reset_mode(*modes, **kwargs)

    def index(self) -> None:
        if self.normal is not None:  # the alternate screen has no scrollback
            pyte.Screen.index(self)
        else:
            super().index()

    def resize(self, lines: int | None = None, columns: int | None = None) -> None:
        if self.normal is not None:
            size, alternate = (self.lines, self.columns), (self.buffer, self.cursor)
            self.buffer, self.cursor = self.normal
            super().resize(lines, columns)
            self.normal = (self.buffer, self.cursor)
            self.buffer, self.cursor = alternate
            self.lines, self.columns = size
        super().resize(lines, columns)


class Screen:
    """copilot-repl in a pseudo-terminal of ``rows`` x ``cols``, drawn on a
    pyte screen (``Terminal``) that answers the cursor-position requests as a
    terminal does and keeps the lines that scroll off the top (the scrollback)."""

    def __init__(
        self, url: str, home: Path, rows: int, cols: int, args: Sequence[str] = ()
    ) -> None:
        self.screen = Terminal(cols, rows)
        self.screen.set_mode(pyte.modes.LNM)
        self.stream = pyte.Stream(self.screen)
        env = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "xterm-256color"}
        env["XTERM_VERSION"] = "pyte"  # it cuts lines on a resize, as xterm does
        for var in ("NO_COLOR", "COLUMNS", "LINES"):  # the size is the terminal's
            env.pop(var, None)
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "copilot_repl", "--base-url", url, *args],  # args: a one-shot's
            env=env,
            cwd=str(ROOT),
            dimensions=(rows, cols),
            encoding="utf-8",
        )
        self.screen.write_process_input = self.child.send

    def pump(self, timeout: float = 0.05) -> None:
        with contextlib.suppress(pexpect.TIMEOUT, pexpect.EOF):
            self.stream.feed(self.child.read_nonblocking(65536, timeout=timeout))

    def ended(self) -> None:
        """Read until the program has exited and the terminal holds nothing
        more: output written just before the exit is on the screen too."""
        end = time.monotonic() + GUARD
        while time.monotonic() < end:
            try:
                self.stream.feed(self.child.read_nonblocking(65536, timeout=0.1))
            except pexpect.EOF:
                return
            except pexpect.TIMEOUT:
                continue
        raise AssertionError(f"the program did not end; the screen:\n{self.display}")

    @property
    def display(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def transcript(self) -> str:
        """The scrollback, then the screen."""
        cols = self.screen.columns
        past = ["".join(line[x].data for x in range(cols)).rstrip() for line in self.history()]
        return "\n".join([*past, self.display])

    def history(self) -> list[dict[int, object]]:
        return list(self.screen.history.top)

    def wait(self, cond: Callable[[], object], what: str) -> None:
        end = time.monotonic() + GUARD
        while not cond():
            if time.monotonic() > end:
                raise AssertionError(f"gave up waiting for {what}; the screen:\n{self.display}")
            self.pump(0.1)

    def shown(self, pattern: str) -> None:
        self.wait(lambda: re.search(pattern, self.display), repr(pattern))

    def prompt(self, name: str = "main") -> None:
        """Wait for the empty prompt of session ``name`` (a regex) at the cursor."""
        self.wait(lambda: self._at_empty_prompt(name), f"the prompt of {name}")

    def line(self, text: str) -> None:
        """Type ``text`` and Enter at the prompt; return once the shell has
        taken it: the prompt at the cursor is no longer empty, or the line
        is on the screen after a prompt one more time (a quick command is
        done and the next empty prompt up between two looks at the screen)."""
        typed = ("›" + text[:30]).replace(" ", "")
        before = self._rows().count(typed)
        self.child.send(text + "\r")
        self.wait(
            lambda: not self._at_empty_prompt() or self._rows().count(typed) > before,
            f"{text[:30]!r} taken",
        )

    def _rows(self) -> str:
        """The scrollback and the screen as one string without blanks: a line
        wrapped over rows reads whole."""
        return self.transcript().replace("\n", "").replace(" ", "")

    def _at_empty_prompt(self, name: str = r"\S+") -> bool:
        row = self.screen.display[self.screen.cursor.y].rstrip()
        return bool(re.fullmatch(rf"{name} openai:\S+ ›", row))

    def resize(self, rows: int, cols: int) -> None:
        self.screen.resize(rows, cols)
        self.child.setwinsize(rows, cols)

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)
        self.child.close()


class Tmux:
    """copilot-repl in a tmux window of its own (tmux re-wraps lines on a
    resize, as most terminals do: the live region keeps to half the screen
    there by default)."""

    def __init__(self, url: str, home: Path, cols: int, rows: int) -> None:
        self.name = f"fd-{uuid.uuid4().hex[:8]}"
        env = f"COPILOT_REPL_HOME={home} TERM=xterm-256color"
        cmd = f"env -u COLUMNS -u LINES -u NO_COLOR {env} {sys.executable} -m copilot_repl"
        cmd += f" --base-url {url}; sleep 60"
        self.tmux("new-session", "-d", "-s", self.name, "-x", str(cols), "-y", str(rows))
        self.tmux("send-keys", "-t", self.name, f"cd {ROOT} && {cmd}", "Enter")

    def tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.name, "-f", os.devnull, *args],
            capture_output=True, text=True, check=True, timeout=GUARD,
        ).stdout  # fmt: skip

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", self.name)

    def scrollback(self) -> str:
        """The scrollback and the screen, lines the terminal wrapped joined."""
        return self.tmux("capture-pane", "-p", "-J", "-S", "-", "-t", self.name)

    def until(self, cond: Callable[[str], object], what: str) -> str:
        end = time.monotonic() + GUARD
        while True:
            text = self.screen()
            if cond(text):
                return text
            if time.monotonic() > end:
                raise AssertionError(f"gave up waiting for {what}:\n{text}")
            time.sleep(0.05)

    def line(self, text: str) -> None:
        self.tmux("send-keys", "-t", self.name, "-l", text)
        self.tmux("send-keys", "-t", self.name, "Enter")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True)


@contextlib.contextmanager
def screens(url: str, home: Path) -> Iterator[Start]:
    """Start copilot-repl (on the server at ``url``) in a pty of ``rows`` x
    ``cols``; wait for its prompt. Every process is ended on leaving."""
    started: list[Screen] = []

    def start(rows: int, cols: int) -> Screen:
        screen = Screen(url, home, rows, cols)
        started.append(screen)
        screen.prompt()
        return screen

    try:
        yield start
    finally:
        for screen in started:
            screen.close()


def words(n: int, word: str = "p") -> str:
    return " ".join(f"{word}{i}" for i in range(n))


def newest(text: str, word: str = "p") -> int:
    """The highest word number in ``text`` (-1: none)."""
    return max((int(x) for x in re.findall(rf"\b{word}(\d+)\b", text)), default=-1)


def counts(text: str, word: str = "p") -> dict[str, int]:
    out: dict[str, int] = {}
    for w in re.findall(rf"\b{word}\d+\b", text):
        out[w] = out.get(w, 0) + 1
    return out


def assert_once_each(text: str, n: int, word: str = "p") -> None:
    seen = counts(text, word)
    twice = sorted((w for w, c in seen.items() if c > 1), key=lambda w: int(w[len(word) :]))
    missing = [f"{word}{i}" for i in range(n) if f"{word}{i}" not in seen]
    assert not twice and not missing, f"twice: {twice[:10]}, missing: {missing[:10]}"
