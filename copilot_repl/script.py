"""Script mode: stdin is not a terminal; commands and prompts run in order,
replies go to stdout as plain text, errors to stderr as one line each."""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING

from copilot_repl.sanitize import clean, one_line

if TYPE_CHECKING:
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Turn
    from copilot_repl.repl.controller import Repl

FENCE = '"""'
FLUSH_EVERY = 0.05


class ScriptOutput:
    """Plain text, no colour, no prompts, no spinners."""

    interactive = False

    def __init__(self, stdout: IO[str], stderr: IO[str]) -> None:
        self.stdout = stdout
        self.stderr = stderr

    def info(self, text: str) -> None:
        self.stdout.write(clean(text) + "\n")  # may quote a reply (:export)

    def error(self, text: str) -> None:
        self.stdout.flush()
        self.stderr.write(f"copilot-repl: error: {one_line(text)}\n")
        self.stderr.flush()

    def warn(self, text: str) -> None:
        self.stdout.flush()
        self.stderr.write(f"copilot-repl: warning: {one_line(text)}\n")

    def status(self, text: str) -> None:
        self.stderr.write(f"copilot-repl: {one_line(text)}\n")

    notice = status

    async def confirm(self, question: str) -> bool:
        return False

    def message(self, role: str, text: str, label: str) -> None:
        self.stdout.write(f"=== {label} ===\n{clean(text)}\n")

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        rows = [[clean(str(c)) for c in row] for row in rows]  # model names come from servers
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
        for row in rows:
            cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
            self.stdout.write("  ".join(cells).rstrip() + "\n")

    async def follow(self, session: CopilotSession, turn: Turn) -> str:
        out = BufferedText(self.stdout)
        out.write(turn.text)
        unwatch = turn.watch(out.write)
        try:
            await turn.wait()
        finally:
            unwatch()
            out.flush()
        if turn.text:
            self.stdout.write("\n")
        self.stdout.flush()
        return "done"

    async def fanout(self, items: list[tuple[CopilotSession, Turn]]) -> str:
        await asyncio.gather(*(turn.wait() for _, turn in items))
        for session, turn in items:
            self.stdout.write(f"=== {session.session_id} ({turn.model}) ===\n")
            if turn.text:
                self.stdout.write(clean(turn.text) + "\n")
            if turn.state != "done":
                self.stdout.write(f"[{turn.state}: {one_line(turn.error or 'no reply')}]\n")
        self.stdout.flush()
        return "done"


class BufferedText:
    """Collects streamed text and writes it at most every FLUSH_EVERY seconds:
    one system call per batch, not per delta (stdout may be unbuffered); a
    timer writes what is held when the stream pauses."""

    def __init__(self, file: IO[str]) -> None:
        self.file = file
        self.parts: list[str] = []
        self.last = time.monotonic()
        self._timer: asyncio.TimerHandle | None = None

    def write(self, text: str) -> None:
        self.parts.append(text)
        now = time.monotonic()
        if now - self.last >= FLUSH_EVERY:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(FLUSH_EVERY, self.flush)

    def flush(self) -> None:
        self.last = time.monotonic()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.parts:
            self.file.write(clean("".join(self.parts)))
            self.file.flush()
            self.parts.clear()


def script_lines(stream: IO[bytes]) -> Iterator[str]:
    """Lines of the script; a line ``\"\"\"`` opens a multi-line prompt closed by
    another. Bytes that are not UTF-8 are replaced, never fatal."""
    block: list[str] | None = None
    for raw in _raw_lines(stream):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.strip() == FENCE:
            if block is None:
                block = []
            else:
                yield _as_prompt(block)
                block = None
            continue
        if block is not None:
            block.append(line)
        else:
            yield line
    if block is not None:
        yield _as_prompt(block)


def _as_prompt(block: list[str]) -> str:
    """A fenced block is a prompt even when it starts with ':' (sent literally)."""
    text = "\n".join(block)
    return ":" + text.lstrip() if text.lstrip().startswith(":") else text


def _raw_lines(stream: IO[bytes]) -> Iterator[bytes]:
    """Lines from the file descriptor itself when there is one: a thread
    blocked in ``os.read`` holds no lock that interpreter exit would wait for."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        yield from stream
        return
    pending = b""
    while chunk := os.read(fd, 65536):
        *lines, pending = (pending + chunk).split(b"\n")
        for line in lines:
            yield line + b"\n"
    if pending:
        yield pending


def read_lines(stdin: IO[bytes]) -> asyncio.Queue[str | None]:
    """Read the script in a daemon thread (a blocked read never holds up exit
    on SIGTERM or Ctrl-C); ``None`` marks the end of input."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[str | None] = asyncio.Queue()

    def reader() -> None:
        try:
            for line in script_lines(stdin):
                loop.call_soon_threadsafe(queue.put_nowait, line)
        except (OSError, ValueError):
            pass
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may be gone
                loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, name="script-stdin", daemon=True).start()
    return queue


async def run_script(repl: Repl, stdin: IO[bytes]) -> int:
    lines = read_lines(stdin)
    while not repl.quitting:
        line = await lines.get()
        if line is None:
            break
        await repl.handle(line)
        repl.out.stdout.flush()  # type: ignore[attr-defined]
    await repl.finish()
    return 1 if repl.failed else 0
