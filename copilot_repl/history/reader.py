"""Reading a session file: its lines become checked records (``records.py``)
applied to the in-memory session. Pure but for ``read_new``, which reads an
open file from where the last read stopped, so a refresh costs what was
appended, not the whole history."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot_repl.errors import SessionNotFound, StoreError
from copilot_repl.history import files
from copilot_repl.history.compact import Compaction
from copilot_repl.history.messages import INTERRUPTED, LoggedEvent, Message, SessionData
from copilot_repl.history.records import (
    SCHEMA,
    Corrupt,
    Header,
    Meta,
    Part,
    Record,
    Truncate,
    check,
    parse,
)
from copilot_repl.history.writers import writer_alive


@dataclass
class Loaded:
    """A session read from disk, and where reading stopped."""

    data: SessionData
    offset: int = 0
    inode: int = 0
    parts: dict[str, list[str]] = field(default_factory=dict)
    sealed: set[str] = field(default_factory=set)
    warnings: list[str] = field(default_factory=list)
    lineno: int = 0
    torn: int = -1  # offset of an incomplete last line already warned about
    device: int = 0  # with inode: which file this is (0: not known yet)
    schema: int = 0  # the header's schema (0: header not read yet)
    read_only: str = ""  # why this session cannot be written to, or ""
    generation: int = 0  # counts changes to the message list (see Store.truncate)
    head: bytes = b""  # the header line's first HEAD bytes: which file this is
    failed: str = ""  # the error of the last turn, if it failed with no reply
    origin: str = ""  # what made it, if not a person ("oneshot", "compare")
    compactions: list[Compaction] = field(default_factory=list)  # in file order
    torn_note: str = ""  # the warning about an incomplete last line, if any

    @property
    def state(self) -> str:
        """idle; streaming (a reply is being written by a live process: its
        parts are on disk, its final message not yet); interrupted (the last
        reply was cut short); failed (the last turn failed)."""
        if self.parts:
            return "streaming"
        msgs = self.data.messages
        last = msgs[-1].status if msgs else "done"
        if last == "interrupted":
            return "interrupted"
        if last == "error" or self.failed:
            return "failed"
        return "idle"


HEAD = 4096


def read_new(fd: int, loaded: Loaded, path: Path) -> bool:
    """Read and apply the complete lines after ``loaded.offset`` (the
    caller holds a lock), ``PIECE`` bytes at a time: a long file is never
    in memory whole."""
    st = os.fstat(fd)
    if st.st_size < loaded.offset:
        raise SessionNotFound(
            f"session {loaded.data.name!r} was removed or replaced by another process"
        )
    if st.st_size == loaded.offset and loaded.offset:
        return False
    loaded.data.log.coming(fd, str(path), st.st_size - loaded.offset)
    bad = [0, 0]  # corrupt lines, the first one's number
    left = b""  # an incomplete last line
    while loaded.offset < st.st_size:
        chunk = _piece(fd, loaded.offset, st.st_size)
        end = chunk.rfind(b"\n") + 1
        if end == 0:
            left = chunk
            break
        _apply_lines(loaded, chunk[:end], path, bad)
        loaded.offset += end
    if loaded.lineno == 0:
        raise StoreError(blank_message(path, loaded.data.name))
    loaded.data.modified = st.st_mtime
    if bad[0]:
        what = "record" if bad[0] == 1 else "records"
        kind = "not understood" if loaded.schema > SCHEMA else "corrupt"
        where = f"line {bad[1]}" if bad[0] == 1 else f"first at line {bad[1]}"
        loaded.warnings.append(
            f"{bad[0]} {kind} {what} skipped in {path} ({where}); the file is left as it is"
        )
    if left and loaded.torn != loaded.offset:
        # Writers hold the lock for a whole line: a partial one is a crash's.
        loaded.torn = loaded.offset
        loaded.torn_note = (
            f"{path}, line {loaded.lineno + 1}: incomplete last record skipped "
            "(cut short by a crash?); the file is left as it is"
        )
        loaded.warnings.append(loaded.torn_note)
    _finish_parts(loaded)
    return True


PIECE = 8 << 20  # bytes read at a time


def _piece(fd: int, offset: int, size: int) -> bytes:
    """Bytes from ``offset``: about PIECE of them, more if the line there is
    longer (to its end, or to ``size``)."""
    want = PIECE
    while True:
        chunk = files.read_from(fd, offset, min(size, offset + want))
        if b"\n" in chunk or offset + len(chunk) >= size or len(chunk) < want:
            return chunk
        want *= 2


def _apply_lines(loaded: Loaded, chunk: bytes, path: Path, bad: list[int]) -> None:
    """Apply the lines of ``chunk`` (whole lines, read at ``loaded.offset``)."""
    pos = loaded.offset
    for line in chunk.split(b"\n")[:-1]:
        loaded.lineno += 1
        at, pos = pos, pos + len(line) + 1
        if loaded.lineno == 1:
            _apply_header(loaded, line, path)
            continue
        if not line.strip():
            continue
        try:
            rec = parse(line, newer=loaded.schema > SCHEMA)
            if type(rec) is Header:
                raise Corrupt("a second session header")
            _apply(loaded, rec, at, pos - at)
        except Corrupt:
            if at != loaded.torn:  # a torn line closed by our append was reported already
                bad[0] += 1
                bad[1] = bad[1] or loaded.lineno


def apply_record(loaded: Loaded, rec: dict[str, Any]) -> None:
    """Apply one record to the in-memory session (pure). Raises ``ValueError``
    if it is not of a documented shape."""
    _apply(loaded, check(rec, newer=loaded.schema > SCHEMA))


def _apply(loaded: Loaded, rec: Record, at: int = -1, size: int = 0) -> None:
    """Apply ``rec`` (read from the line at byte ``at`` of ``size`` bytes;
    -1: not from the file)."""
    data = loaded.data
    if isinstance(rec, Message) and rec.id in loaded.sealed:
        return  # already shown as the interrupted reply it was
    if loaded.parts and not isinstance(rec, Part):
        if isinstance(rec, Message):
            loaded.parts.pop(rec.id, None)  # its own parts: the reply is whole
        # a killed reply ended before any record after it, wherever a read
        # stops (an event, a truncate: not only the next message)
        _finish_parts(loaded)
    if isinstance(rec, Message):
        data.messages.append(rec, at, size)
        loaded.generation += 1
        loaded.failed = ""
    elif isinstance(rec, LoggedEvent):
        data.log.add(rec, at, size)
    elif isinstance(rec, Part):
        loaded.parts.setdefault(rec.id, []).append(rec.text)
    elif isinstance(rec, Meta):
        data.model = data.model if rec.model is None else rec.model
        data.system = data.system if rec.system is None else rec.system
        loaded.failed = loaded.failed if rec.failed is None else rec.failed
        loaded.origin = loaded.origin if rec.origin is None else rec.origin
        data.tools = data.tools if rec.tools is None else rec.tools
        if rec.summary is not None:
            loaded.compactions.append(rec.summary)
    elif isinstance(rec, Truncate):
        loaded.failed = ""
        if rec.keep < len(data.messages):
            data.messages.cut(rec.keep)
            loaded.generation += 1
    else:
        data.model, data.system, data.created = rec.model, rec.system, rec.created
        data.cwd = rec.cwd
        loaded.schema = rec.schema
        if rec.schema > SCHEMA:
            loaded.read_only = newer_message(rec.schema)


def parse_header(line: bytes, path: Path) -> Header:
    """Line 1 of the session file ``path``: a valid header, or else this is
    not a session file (``StoreError``)."""
    try:
        header = parse(line)
    except Corrupt as exc:
        raise StoreError(no_header_message(path, str(exc))) from None
    if type(header) is not Header:
        raise StoreError(no_header_message(path, "line 1 is another kind of record"))
    return header


def _apply_header(loaded: Loaded, line: bytes, path: Path) -> None:
    _apply(loaded, parse_header(line, path))
    loaded.head = line[:HEAD]
    if loaded.read_only:
        loaded.warnings.append(f"{path}: {loaded.read_only}")


def _finish_parts(loaded: Loaded) -> None:
    """Leave growing replies in ``parts`` while their writer lives; one whose
    process is gone (kill -9) becomes an interrupted assistant message."""
    for rid in list(loaded.parts):
        if not writer_alive(rid):
            text = "".join(loaded.parts.pop(rid))
            loaded.sealed.add(rid)
            message = Message(
                role="assistant", content=text, ts=time.time(), status=INTERRUPTED, id=rid
            )
            loaded.data.messages.append(message)
            loaded.generation += 1


def blank_message(path: Path, name: str) -> str:
    return (
        f"{path} is empty or has no complete header (cut short while it was being "
        f"created?); :rm {name} removes it, :new {name} replaces it"
    )


def no_header_message(path: Path, reason: str) -> str:
    return (
        f"{path} is not a copilot-repl session: its first line is not a valid header "
        f"({reason}); move it out of {path.parent} or :rm it"
    )


def newer_message(schema: int) -> str:
    return (
        f"it was written by a newer copilot-repl (schema {schema}; this one knows "
        f"schema {SCHEMA}), so it is open read-only"
    )
