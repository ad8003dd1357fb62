"""The index sidecar of a long session: what reading its file up to byte X
gave, so that opening it reads only what comes after X.

A session file over ``INDEX_MIN`` bytes gets one, ``index/KEY.idx`` in the
data dir (KEY: a hash of the file's header line, which a rename keeps and a
new file never shares), written whole (temp file, then rename) after a load
that read it, at a moment no reply was streaming. It holds the session's
state after record X (model, system prompt, what was reported, compactions,
sealed replies) and the offset of each entry of its log (``log.py``); the
entries themselves stay in the file.

It is a cache, never the truth: one is used only if its checksum holds, its
version is this one, it was made from this very file (device and inode, the
header line) and the file still holds, up to X, the bytes it was made from
(a newline at X - 1, the hash of the ``WINDOW`` bytes before it). Anything
else (a missing, stale, corrupt or foreign index) is ignored, the file read
whole, and a new index written; one no session has any more (a file
rewritten with a new header, or removed) is removed when a new one is made.
Each entry read through it is checked to be a message or an event, as the
log checks every line it reads back.

Layout (version 1): ``MAGIC``, a 4-byte big-endian length, that many bytes
of JSON (the state), the log's offsets and the messages' positions in the
log (native 8-byte integers, as many as the state says), then a 32-byte
BLAKE2b digest of everything before it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import zlib
from array import array
from dataclasses import asdict
from pathlib import Path
from typing import Any

from copilot_repl.history import files
from copilot_repl.history.compact import parse_compaction
from copilot_repl.history.log import Entry, Source
from copilot_repl.history.messages import Message
from copilot_repl.history.reader import HEAD, Loaded
from copilot_repl.history.records import SCHEMA, Corrupt, Meta, check
from copilot_repl.history.writers import pid_exists

VERSION = 2  # 2: the session's tool set (records.py, TOOLSET)
MAGIC = b"copilot-repl session index\n"
INDEX_DIR = "index"
INDEX_MIN = 1 << 20  # smaller files are read whole: ~10 ms, less than an index saves
REINDEX = 1 << 20  # written again once this much was read past the index
WINDOW = 1 << 16
_DIGEST = 4
_ITEM = array("q").itemsize


def key(header_line: bytes) -> str:
    return hashlib.blake2b(header_line, digest_size=16).hexdigest()


def path_for(root: Path, header_line: bytes) -> Path:
    return root / INDEX_DIR / f"{key(header_line)}.idx"


def _window(fd: int, offset: int) -> str:
    start = max(0, offset - WINDOW)
    return hashlib.blake2b(os.pread(fd, offset - start, start), digest_size=16).hexdigest()


# -- writing ---------------------------------------------------------------
def encode(loaded: Loaded, fd: int, header_line: bytes) -> bytes | None:
    """The index of ``loaded`` as read from ``fd`` up to ``loaded.offset``
    (None if it cannot have one: a reply still streaming, a newer schema)."""
    if loaded.parts or loaded.schema > SCHEMA or loaded.read_only or not loaded.head:
        return None
    offsets, fixed = loaded.data.log.offsets()
    positions = loaded.data.messages.positions()
    st = os.fstat(fd)
    data = loaded.data
    state = {
        "version": VERSION,
        "key": key(header_line),
        "device": st.st_dev,
        "inode": st.st_ino,
        "offset": loaded.offset,
        "window": _window(fd, loaded.offset),
        "lineno": loaded.lineno,
        "schema": loaded.schema,
        "generation": loaded.generation,
        "model": data.model,
        "system": data.system,
        "created": data.created,
        "cwd": data.cwd,
        "tools": data.tools,
        "failed": loaded.failed,
        "origin": loaded.origin,
        "sealed": sorted(loaded.sealed),
        "warnings": [w for w in loaded.warnings if w != loaded.torn_note],
        "compactions": [c.record() for c in loaded.compactions],
        "fixed": {str(i): {"t": "msg", **asdict(m)} for i, m in fixed.items()},
        "entries": len(offsets),
        "messages": len(positions),
    }
    head = json.dumps(state, separators=(",", ":")).encode()  # ASCII: a lone surrogate too
    return seal(
        MAGIC + len(head).to_bytes(4, "big") + head + offsets.tobytes() + positions.tobytes()
    )


def seal(body: bytes) -> bytes:
    """``body`` followed by its checksum."""
    return body + zlib.crc32(body).to_bytes(_DIGEST, "big")


def write(root: Path, loaded: Loaded, fd: int, header_line: bytes) -> bool:
    """Write the index of ``loaded`` (best effort: a cache); True if written."""
    try:
        payload = encode(loaded, fd, header_line)
    except (OSError, ValueError, RecursionError):  # a cache: the file is read whole next time
        return False
    if payload is None:
        return False
    path = path_for(root, header_line)
    with contextlib.suppress(OSError):
        os.makedirs(path.parent, mode=0o700, exist_ok=True)
        _sweep(path.parent)
        files.write_atomic(path, payload)
        return True
    return False


def _sweep(folder: Path) -> None:
    """Remove the temp files of processes that died writing an index."""
    for name in os.listdir(folder):
        pid = files.tmp_owner(name)
        if pid is not None and pid != os.getpid() and not pid_exists(pid):
            with contextlib.suppress(OSError):
                os.unlink(folder / name)


def prune(root: Path, headers: list[bytes]) -> None:
    """Remove the indexes of files no session has any more (rewritten with a
    new header by ``:clear --purge``, removed by another tool)."""
    keep = {f"{key(h)}.idx" for h in headers}
    with contextlib.suppress(OSError):
        for name in os.listdir(root / INDEX_DIR):
            if name.endswith(".idx") and name not in keep:
                with contextlib.suppress(OSError):
                    os.unlink(root / INDEX_DIR / name)


def remove(root: Path, header_line: bytes) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path_for(root, header_line))


# -- reading ---------------------------------------------------------------
class Index:
    """A decoded index, checked against itself (not yet against a file)."""

    def __init__(self, state: dict[str, Any], offsets: array[int], positions: array[int]) -> None:
        self.state = state
        self.offsets = offsets
        self.positions = positions


def decode(raw: bytes) -> Index | None:
    """The index in ``raw``, or None if it is not a whole, consistent one of
    this version."""
    if len(raw) < len(MAGIC) + 4 + _DIGEST or not raw.startswith(MAGIC):
        return None
    body = raw[:-_DIGEST]
    if seal(body) != raw:
        return None
    at = len(MAGIC)
    size = int.from_bytes(body[at : at + 4], "big")
    at += 4
    try:
        state = json.loads(body[at : at + size])
    except (ValueError, RecursionError):
        return None
    if type(state) is not dict or state.get("version") != VERSION:
        return None
    at += size
    n, m = state.get("entries"), state.get("messages")
    if type(n) is not int or type(m) is not int or n < 0 or m < 0:
        return None
    if len(body) - at != (n + m) * _ITEM:
        return None
    offsets, positions = array("q"), array("q")
    offsets.frombytes(body[at : at + n * _ITEM])
    positions.frombytes(body[at + n * _ITEM :])
    if not _consistent(state, offsets, positions):
        return None
    return Index(state, offsets, positions)


_TYPES: dict[str, type | tuple[type, ...]] = {
    "key": str,
    "device": int,
    "inode": int,
    "offset": int,
    "window": str,
    "lineno": int,
    "schema": int,
    "generation": int,
    "model": str,
    "system": str,
    "created": (int, float),
    "cwd": str,
    "failed": str,
    "origin": str,
    "sealed": list,
    "warnings": list,
    "compactions": list,
    "fixed": dict,
}


def _consistent(state: dict[str, Any], offsets: array[int], positions: array[int]) -> bool:
    """Every field of its type, offsets before X, positions within the log,
    each entry of ``fixed`` held for an offset of -1. (The digest says the
    rest is as written; each entry is checked as it is read.)"""
    for name, kind in _TYPES.items():
        if not isinstance(state.get(name), kind) or type(state.get(name)) is bool:
            return False
    end = state["offset"]
    if end <= 0 or state["schema"] > SCHEMA or not 1 <= state["lineno"] <= end:
        return False
    # offsets increase (-1 aside) and positions too, as written: the ends tell
    if offsets and offsets[-1] >= end:
        return False
    if positions and not (positions[0] >= 0 and positions[-1] < len(offsets)):
        return False
    for i in state["fixed"]:
        if not (i.isascii() and i.isdigit() and int(i) < len(offsets) and offsets[int(i)] == -1):
            return False
    return True


def read(root: Path, header_line: bytes) -> Index | None:
    path = path_for(root, header_line)
    return decode(files.read_small(path, limit=1 << 31))


def fits(index: Index, fd: int, header_line: bytes) -> bool:
    """Whether ``index`` was made from the file open as ``fd``, as it is now."""
    state = index.state
    st = os.fstat(fd)
    end = state["offset"]
    if (state["device"], state["inode"]) != (st.st_dev, st.st_ino):
        return False
    if state["key"] != key(header_line) or end > st.st_size:
        return False
    return os.pread(fd, 1, end - 1) == b"\n" and _window(fd, end) == state["window"]


def restore(
    loaded: Loaded, index: Index, fd: int, path: Path, header_line: bytes, root: Path
) -> bool:
    """Make ``loaded`` what reading the file up to the index's offset gave;
    False (``loaded`` untouched) if an entry it holds is not valid."""
    state = index.state
    try:
        fixed: dict[int, Entry] = {}
        for i, rec in state["fixed"].items():
            entry = check(rec)
            if not isinstance(entry, Message):
                return False
            fixed[int(i)] = entry
        found = [parse_compaction(c) for c in state["compactions"]]
        meta = check({"t": "meta", "tools": state.get("tools")})
    except (Corrupt, TypeError):
        return False
    if not isinstance(meta, Meta) or meta.tools != state.get("tools"):
        return False
    compactions = [c for c in found if c is not None]
    if len(compactions) != len(found) or not all(
        type(s) is str for s in (*state["sealed"], *state["warnings"])
    ):
        return False
    data = loaded.data
    source = Source(fd, str(path), str(path_for(root, header_line)))
    data.log.restore(index.offsets, fixed, source)
    data.messages.restore(index.positions)
    data.model, data.system = state["model"], state["system"]
    data.created, data.cwd = float(state["created"]), state["cwd"]
    data.tools = meta.tools
    data.modified = os.fstat(fd).st_mtime
    loaded.offset, loaded.lineno = state["offset"], state["lineno"]
    loaded.schema, loaded.generation = state["schema"], state["generation"]
    loaded.failed, loaded.origin = state["failed"], state["origin"]
    loaded.sealed = set(state["sealed"])
    loaded.warnings.extend(state["warnings"])
    loaded.compactions = compactions
    loaded.head = header_line[:HEAD]
    return True


def spot_check(loaded: Loaded) -> None:
    """Read back the log's first and last entries and the first message
    (each checked as it is read: ``StoreError`` if one is not what the
    index says), after ``restore``."""
    log, messages = loaded.data.log, loaded.data.messages
    seen = [log[0], log[len(log) - 1]] if len(log) else []
    if messages:
        seen.append(messages[0])
