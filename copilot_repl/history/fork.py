"""Forks: a new session holding a copy of another's history up to a message.

The fork's header records where it came from, in one extra key that readers
which do not know it ignore (``records.py``: unknown keys are ignored)::

    {"t": "session", ..., "fork": {"parent": NAME, "at": N, "parent_file_id"?: STR}}

``at``: the number of messages copied (messages 1..N of the parent, as it was
then). The file is written whole before it gets its name (temp file + link),
so a crash leaves either no fork or the complete one. Compactions that cover
only copied messages come along.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass
from itertools import chain
from typing import Any

from copilot_repl.errors import SessionExists, StoreError, UsageError
from copilot_repl.history import compact, files
from copilot_repl.history.files import why
from copilot_repl.history.messages import DONE, Message
from copilot_repl.history.names import validate_name
from copilot_repl.history.records import SCHEMA, check, dumps
from copilot_repl.history.store import Loaded, Store


@dataclass(frozen=True)
class ForkInfo:
    parent: str
    at: int


def fork(
    store: Store,
    parent: str,
    new: str,
    *,
    at: int | None = None,
    model: str | None = None,
    system: str | None = None,
    now: float | None = None,
) -> Loaded:
    """Create ``new`` from ``parent``'s messages 1..``at`` (default: all).
    Raises ``SessionNotFound``, ``SessionExists``, ``UsageError`` (``at`` out
    of range), ``StoreError``."""
    validate_name(new)
    src = store.load(parent)
    messages = src.data.messages
    if at is None:
        at = len(messages)
    if not 0 <= at <= len(messages):
        raise UsageError(
            f"{parent} has {len(messages)} messages; fork at 0 to {len(messages)}, not {at}"
        )
    if store.exists(new):
        raise SessionExists(f"session {new!r} already exists")
    header: dict[str, Any] = {
        "t": "session",
        "schema": SCHEMA,
        "file_id": os.urandom(8).hex(),
        "name": new,
        "model": model or src.data.model,
        "system": src.data.system if system is None else system,
        "created": time.time() if now is None else now,
        "fork": {"parent": src.data.name, "at": at, "parent_file_id": _file_id(src)},
    }
    kept = compact.current(compact.read_compactions(store.path(src.data.name)), messages[:at])
    after: list[dict[str, Any]] = []
    if kept is not None and kept.upto < at:
        after.append(kept.record())
    if src.data.tools is not None:  # the fork has the tools its parent had
        after.append({"t": "meta", "tools": src.data.tools})
    for rec in (header, *after):
        check(rec)
    store.ensure()
    path = store.path(new)
    # written as the messages are read: a long history is never in memory whole
    records = chain([header], (message_record(m) for m in messages[:at]), after)
    try:
        files.create_new(path, (dumps(check_record(r)) for r in records))
    except FileExistsError:
        raise SessionExists(f"session {new!r} already exists") from None
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {why(exc)}") from None
    return store.load(new)


def check_record(rec: dict[str, Any]) -> dict[str, Any]:
    """``rec``, checked against its shape (``ValueError`` if it is not one)."""
    check(rec)
    return rec


def message_record(m: Message, *, with_id: bool = True) -> dict[str, Any]:
    """A message as the ``msg`` record that loads back to it."""
    rec: dict[str, Any] = {"t": "msg", "role": m.role, "content": m.content, "ts": m.ts}
    if m.id and with_id:
        rec["id"] = m.id
    if m.status != DONE:
        rec["status"] = str(m.status)
    if m.model:
        rec["model"] = m.model
    if m.tokens:
        rec["tokens"] = m.tokens
    if m.aborted:  # not sent to a model in the copy either
        rec["aborted"] = True
    if m.tools:
        rec["tools"] = m.tools
    return rec


def fork_info(store: Store, name: str) -> ForkInfo | None:
    """Where ``name`` was forked from (None if it is not a fork)."""
    header = read_header(store, name)
    body = header.get("fork")
    if type(body) is not dict:
        return None
    parent, at = body.get("parent"), body.get("at")
    if type(parent) is not str or type(at) is not int:
        return None
    return ForkInfo(parent, at)


def read_header(store: Store, name: str) -> dict[str, Any]:
    """The decoded header line of a session ({} if it cannot be read)."""
    try:
        fd = files.open_regular(store.path(name), os.O_RDONLY)
    except (OSError, StoreError):
        return {}
    try:
        with contextlib.suppress(ValueError, RecursionError, OSError):
            rec = json.loads(files.first_line(fd))
            return rec if type(rec) is dict else {}
        return {}
    finally:
        os.close(fd)


def tree(store: Store, names: list[str] | None = None) -> list[tuple[int, str, ForkInfo | None]]:
    """Sessions in tree order: each fork under its parent, as (depth, name,
    fork info). A fork whose parent is gone is a root."""
    names = store.names() if names is None else names
    info = {n: fork_info(store, n) for n in names}
    children: dict[str, list[str]] = {}
    roots = []
    for n in names:
        fi = info[n]
        if fi is not None and fi.parent in info and fi.parent != n:
            children.setdefault(fi.parent, []).append(n)
        else:
            roots.append(n)
    out: list[tuple[int, str, ForkInfo | None]] = []
    seen: set[str] = set()

    def walk(n: str, depth: int) -> None:
        if n in seen:
            return
        seen.add(n)
        out.append((depth, n, info[n]))
        for c in sorted(children.get(n, [])):
            walk(c, depth + 1)

    for r in sorted(roots):
        walk(r, 0)
    for n in sorted(names):  # a cycle (renames): never lose a session from the list
        walk(n, 0)
    return out


def _file_id(loaded: Loaded) -> str:
    with contextlib.suppress(ValueError, RecursionError):
        rec = json.loads(loaded.head)
        if type(rec) is dict and type(rec.get("file_id")) is str:
            return str(rec["file_id"])
    return ""
