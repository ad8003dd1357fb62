"""Script mode: stdin is not a terminal; commands and prompts run in order,
replies go to stdout as plain text; errors, warnings and status lines
(``created X``, ``X uses M``, ``exported ...``) to stderr, one line each, so
stdout holds the replies only. With ``--json`` stdout holds one JSON object a
line: every session event (``SessionEvent.to_dict()``) and command output."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from copilot_repl.cli.output import write_error, write_table, write_warning
from copilot_repl.repl.masks import Masks
from copilot_repl.sanitize import clean, one_line

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.api.events import SessionEvent
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Turn
    from copilot_repl.repl.controller import Repl
    from copilot_repl.repl.frontend import Terminal
    from copilot_repl.repl.masks import Masks

FENCE = '"""'
FLUSH_EVERY = 0.05


class ScriptOutput:
    """Plain text, no colour, no prompts, no spinners."""

    interactive = False
    terminal: Terminal | None = None  # no editor, clipboard, :view or coloured :diff

    def __init__(self, stdout: IO[str], stderr: IO[str]) -> None:
        self.stdout = stdout
        self.stderr = stderr
        self.masks = Masks()

    def info(self, text: str) -> None:
        self.stdout.write(clean(text) + "\n")  # may quote a reply (:export)

    def error(self, text: str) -> None:
        self.stdout.flush()
        write_error(self.stderr, text)

    def warn(self, text: str) -> None:
        self.stdout.flush()
        write_warning(self.stderr, text)

    def status(self, text: str) -> None:
        self.stderr.write(f"copilot-repl: {one_line(text)}\n")

    notice = status
    note = status  # "created X", "X uses M": not replies, so not on stdout

    async def confirm(self, question: str) -> bool:
        return False

    async def ask(self, question: str) -> str:
        return ""

    def message(self, role: str, text: str, label: str) -> None:
        self.stdout.write(f"=== {label} ===\n{clean(text)}\n")

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        write_table(self.stdout, header, rows, with_header=False)

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
            model = self.masks.model(session.session_id, turn.model)
            self.stdout.write(f"=== {session.session_id} ({model}) ===\n")
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


@dataclass(frozen=True)
class Unclosed:
    """The script ended inside a fenced block opened on line ``line``."""

    line: int

    def message(self) -> str:
        return (
            f"line {self.line}: the {FENCE} opened here is never closed; "
            "that multi-line prompt was not sent"
        )


def script_lines(stream: IO[bytes]) -> Iterator[str | Unclosed]:
    """Lines of the script; a line ``\"\"\"`` opens a multi-line prompt closed by
    another (one never closed ends the script as ``Unclosed``, not sent).
    Bytes that are not UTF-8 are replaced, never fatal."""
    block: list[str] | None = None
    opened = 0
    for lineno, raw in enumerate(_raw_lines(stream), 1):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line.strip() == FENCE:
            if block is None:
                block, opened = [], lineno
            else:
                yield _as_prompt(block)
                block = None
            continue
        if block is not None:
            block.append(line)
        else:
            yield line
    if block is not None:
        yield Unclosed(opened)


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


Lines = asyncio.Queue[str | Unclosed | None]  # the script's lines; None: its end


def read_lines(stdin: IO[bytes]) -> Lines:
    """Read the script in a daemon thread (a blocked read never holds up exit
    on SIGTERM or Ctrl-C); ``None`` marks the end of input."""
    loop = asyncio.get_running_loop()
    queue: Lines = asyncio.Queue()

    def reader() -> None:
        try:
            for line in script_lines(stdin):
                loop.call_soon_threadsafe(queue.put_nowait, line)
        except (OSError, ValueError):
            pass
        except RuntimeError:  # the loop is closed: the script ended (:quit) first
            return
        finally:
            with contextlib.suppress(RuntimeError):  # the loop may be gone
                loop.call_soon_threadsafe(queue.put_nowait, None)

    threading.Thread(target=reader, name="script-stdin", daemon=True).start()
    return queue


async def first_line(lines: Lines) -> str | Unclosed | None:
    """The script's first line that does something; None if it has none
    (empty, or blank lines only: then nothing needs opening)."""
    while (line := await lines.get()) is not None:
        if isinstance(line, Unclosed) or line.strip():
            return line
    return None


async def run_script(repl: Repl, out: ScriptOutput, lines: Lines, first: str | Unclosed) -> int:
    """Run ``first`` then the rest of ``lines`` in ``repl``, whose front end is ``out``."""
    line: str | Unclosed | None = first
    while not repl.quitting:
        if line is None:
            break
        if isinstance(line, Unclosed):
            repl.fail(line.message())
            break
        await repl.handle(line)
        out.stdout.flush()
        line = await lines.get()
    await repl.finish()
    return 1 if repl.failed else 0


# -- --json ---------------------------------------------------------------------


class JsonLines:
    """Writes one JSON object a line, flushed at once (a reader follows live).
    Events are written once each, however many ways they arrive."""

    def __init__(self, file: IO[str], masks: Masks | None = None) -> None:
        self.file = file
        self.masks = masks  # a blind session's events name no model
        self._seen: OrderedDict[Any, None] = OrderedDict()

    def write(self, obj: dict[str, Any]) -> None:
        self.file.write(json.dumps(obj, ensure_ascii=False) + "\n")
        self.file.flush()

    def event(self, event: SessionEvent) -> None:
        if event.id in self._seen:
            return
        self._seen[event.id] = None
        if len(self._seen) > 4096:
            self._seen.popitem(last=False)
        doc = event.to_dict()
        sid = event.session_id
        if self.masks is not None and self.masks.hidden(sid):
            masks = self.masks
            doc = _masked(doc, lambda text: masks.scrub(sid, text))
        self.write(doc)


_MODEL_KEYS = frozenset({"model", "selected_model", "new_model", "previous_model"})


def _masked(value: Any, scrub: Callable[[str], str]) -> Any:
    """``value`` with every model field ``hidden`` and model names scrubbed
    from its text."""
    if isinstance(value, dict):
        return {
            k: ("hidden" if k in _MODEL_KEYS and v else _masked(v, scrub)) for k, v in value.items()
        }
    if isinstance(value, list):
        return [_masked(v, scrub) for v in value]
    return scrub(value) if isinstance(value, str) else value


def follow_events(client: CopilotClient, out: JsonLines) -> None:
    """Write every event of every session of ``client`` to ``out``, deltas
    included: a session is subscribed (streaming on) at its first event,
    which comes before its reply starts."""
    subscribed: dict[str, CopilotSession] = {}

    def on_any(event: SessionEvent) -> None:
        session = client.opened(event.session_id)
        if session is not None and subscribed.get(event.session_id) is not session:
            subscribed[event.session_id] = session
            session.settings.streaming = True
            session.on(out.event)
        out.event(event)

    client.listen(on_any)


class JsonScriptOutput(ScriptOutput):
    """``--json`` script mode: stdout holds only JSON objects, one a line:
    session events, and command output as ``copilot_repl.output`` (text),
    ``copilot_repl.message`` (a saved message) or ``copilot_repl.table``."""

    def __init__(self, stdout: IO[str], stderr: IO[str]) -> None:
        super().__init__(stdout, stderr)
        self.lines = JsonLines(stdout)

    def attach(self, repl: Repl) -> None:
        """Follow every session's events; a reply is never shown again as
        text (its events were written), so each counts as followed."""
        self.lines.masks = repl.masks
        follow_events(repl.client, self.lines)

        def seen(event: SessionEvent) -> None:
            # the Repl listens first: it sees the turn's end as followed
            if event.type == "assistant.turn_start":
                repl.followed.add(event.data.turn_id)
            elif event.type == "assistant.turn_end":
                repl.followed.discard(event.data.turn_id)

        repl.client.listen(seen)

    def info(self, text: str) -> None:
        self.lines.write({"type": "copilot_repl.output", "data": {"text": text}})

    def message(self, role: str, text: str, label: str) -> None:
        data = {"role": role, "content": text, "label": label}
        self.lines.write({"type": "copilot_repl.message", "data": data})

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        data = {"header": header, "rows": rows}
        self.lines.write({"type": "copilot_repl.table", "data": data})

    async def follow(self, session: CopilotSession, turn: Turn) -> str:
        await turn.wait()  # its events are written as they come
        return "done"

    async def fanout(self, items: list[tuple[CopilotSession, Turn]]) -> str:
        await asyncio.gather(*(turn.wait() for _, turn in items))
        return "done"
