"""Sessions as portable JSON documents (``sessions export --format json`` and
``sessions import``), and writing imported sessions into the store whole or
not at all. Pure data plus ``Store`` calls: no network, no terminal.

The document (``version`` 1)::

    {"format": "copilot-repl.session", "version": 1,
     "session": {"name", "model", "system", "created", "modified"},
     "messages": [{"role", "content", "ts", "status", "model", "tokens", "id",
                   ...any other keys the message's record holds, e.g. "figures"}]}

``created``, ``modified`` and ``ts`` are seconds since the epoch. Importing
a document recreates the session exactly: the same messages with their
statuses, models, token counts and figures, the same model, system prompt
and times. Another ``format``, a newer ``version`` or a wrong shape fails with
one line naming the file and what was not understood.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from copilot_repl.errors import ImportFailed, SessionExists, StoreError
from copilot_repl.history import files
from copilot_repl.history.inputs import loads, lone_surrogate, read_bytes
from copilot_repl.history.messages import Message, SessionData
from copilot_repl.history.names import validate_name
from copilot_repl.history.records import Corrupt, Header, check
from copilot_repl.history.store import Store

FORMAT = "copilot-repl.session"
VERSION = 1
MAX_IMPORT_FILE = 256 << 20  # bytes: an export or events.jsonl larger than this is refused
EARLIEST, LATEST = 0.0, 253_402_214_400.0  # 1970-01-01 .. 9999-12-31: a time a date can show
MESSAGE_KEYS = frozenset(f.name for f in fields(Message))


@dataclass
class Imported:
    """A session read from a file, not yet in the store."""

    data: SessionData
    source: str  # where it came from, for messages ("FILE", "FILE#ID")
    extras: list[dict[str, Any]] = field(default_factory=list)  # per message: other record keys


# -- export -------------------------------------------------------------------
def export_session(store: Store, name: str) -> dict[str, Any]:
    """The session as a JSON-ready document (replies still streaming in
    another process are left out until they end). A session whose blind
    comparison waits for its vote comes without its models and figures."""
    session, messages = export_parts(store, name)
    return {"format": FORMAT, "version": VERSION, "session": session, "messages": list(messages)}


def export_parts(
    store: Store, name: str, *, last: int = 0, extras: bool = True
) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    """The document's ``session`` and its ``messages`` (``last``: only the
    last so many), these made one at a time as they are read (a long
    session is never in memory whole). Without ``extras``, the messages
    lack the keys of their records ``Message`` does not hold (what needs
    only role, status and content need not read the file for them)."""
    # start-up: not on the path to the first prompt
    from copilot_repl.history.blinds import BlindStore, mask_message, mask_session

    data = store.load(name).data
    found = record_extras(store.path(data.name)) if extras else {}
    session = {
        "name": data.name,
        "model": data.model,
        "system": data.system,
        "created": data.created,
        "modified": data.modified,
    }
    shown = data.messages[-last:] if last > 0 else data.messages
    items = (_export_item(m, found) for m in shown)
    if data.name in BlindStore(store.root).hidden():
        return mask_session(session), (mask_message(item) for item in items)
    return session, items


def export_json(store: Store, name: str, *, last: int = 0) -> Iterator[str]:
    """``json.dumps(export_session(store, name), ensure_ascii=False,
    indent=2)``, in pieces: one per message (``last``: only the last so many)."""
    session, messages = export_parts(store, name, last=last)
    doc = {"format": FORMAT, "version": VERSION, "session": session, "messages": []}
    head = json.dumps(doc, ensure_ascii=False, indent=2)
    first = next(messages, None)
    if first is None:
        yield head
        return
    # "messages" comes last: its "[]" is where the items go, each indented
    # as json.dumps nests it (a newline in a JSON text is never in a string)
    yield head[: -len("[]\n}")] + "[\n    " + _nested(first)
    for item in messages:
        yield ",\n    " + _nested(item)
    yield "\n  ]\n}"


def _nested(item: dict[str, Any]) -> str:
    """``json.dumps(item, ensure_ascii=False, indent=2)`` as it is nested in
    the document's ``messages``: scalars through the C encoder (``indent``
    takes the pure-Python one, four times slower), the rest as they are."""
    if not item:
        return "{}"
    parts = []
    for key, value in item.items():
        if value is None or isinstance(value, str | int | float):
            text = _scalar(value)
        else:
            text = json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n      ")
        parts.append(f"{_scalar(key)}: {text}")
    return "{\n      " + ",\n      ".join(parts) + "\n    }"


_scalar = json.JSONEncoder(ensure_ascii=False).encode  # a string, number, bool or None


def _export_item(m: Message, extras: dict[str, dict[str, Any]]) -> dict[str, Any]:
    item = _export_dict(m)
    item.update(extras.get(m.id, {}) if m.id else {})
    return item


def _export_dict(m: Message) -> dict[str, Any]:
    """``_message_dict(m)`` without ``asdict``'s deep copy (written out at
    once: nothing changes it; half the time of a JSON export)."""
    item: dict[str, Any] = {
        "role": m.role,
        "content": m.content,
        "ts": m.ts,
        "status": m.status,
        "model": m.model,
        "tokens": m.tokens,
        "id": m.id,
    }
    if m.eid != "":
        item["eid"] = m.eid
    if m.parent != "":
        item["parent"] = m.parent
    if m.data is not None:
        item["data"] = m.data
    if m.aborted is not False:
        item["aborted"] = m.aborted
    if m.tools is not None:
        item["tools"] = m.tools
    return item


EXTRAS_BLOCK = 8 << 20  # bytes read at a time by ``record_extras``


def record_extras(path: Path, block: int = EXTRAS_BLOCK) -> dict[str, dict[str, Any]]:
    """Keys of the ``msg`` records in a session file that ``Message`` does not
    hold (``figures``, say), by message id. The file is read ``block`` bytes
    at a time."""
    out: dict[str, dict[str, Any]] = {}
    try:
        fd = files.open_regular(path, os.O_RDONLY)
    except (OSError, StoreError):
        return out
    try:
        for lines in files.line_blocks(fd, block):
            _extras_of(lines, out)
    except OSError:
        return {}
    finally:
        os.close(fd)
    return out


def _extras_of(raw: bytes, out: dict[str, dict[str, Any]]) -> None:
    for line in raw.splitlines():
        if b'"t":"msg"' not in line or b'"id"' not in line:
            continue
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            continue  # the store reports corrupt lines
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
            continue
        extra = {k: v for k, v in rec.items() if k not in MESSAGE_KEYS and k != "t"}
        if extra:
            out[rec["id"]] = extra


# -- import -------------------------------------------------------------------
def read_document(path: Path) -> Imported:
    """An exported document, checked; ``ImportFailed`` names what is wrong."""
    raw = read_bytes(path, limit=MAX_IMPORT_FILE, error=ImportFailed)
    not_json = "not JSON (nor an llm logs.db or Copilot CLI session)"
    doc = loads(raw, where=str(path), error=ImportFailed, not_json=not_json)
    return parse_document(doc, str(path))


def parse_document(doc: Any, where: str) -> Imported:
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ImportFailed(f'{where}: not a copilot-repl session export (no "format": {FORMAT!r})')
    version = doc.get("version")
    if type(version) is not int or version < 1:
        raise ImportFailed(f'{where}: "version" is not a positive integer')
    if version > VERSION:
        raise ImportFailed(
            f"{where}: export version {version} is newer than this copilot-repl reads "
            f"({VERSION}); upgrade copilot-repl"
        )
    session = doc.get("session")
    if not isinstance(session, dict):
        raise ImportFailed(f'{where}: "session" is not an object')
    try:
        header = check(
            {
                "t": "session",
                "schema": 1,
                "model": session.get("model"),
                "system": session.get("system", ""),
                "created": session.get("created", 0.0),
                "name": session.get("name", ""),
            }
        )
    except Corrupt as exc:
        raise ImportFailed(f"{where}: session: {exc}") from None
    assert isinstance(header, Header)
    data = SessionData(
        name=str(session.get("name") or ""),
        model=header.model,
        system=header.system,
        created=header.created,
        modified=_time(session.get("modified", 0.0), f"{where}: session: modified"),
    )
    items = doc.get("messages")
    if not isinstance(items, list):
        raise ImportFailed(f'{where}: "messages" is not a list')
    imported = Imported(data, where)
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ImportFailed(f"{where}: message {i + 1} is not an object")
        add_message(imported, item, f"{where}: message {i + 1}")
    return imported


def add_message(imported: Imported, item: dict[str, Any], where: str) -> None:
    """Append one message given as a record's keys (checked as the store would)."""
    try:
        msg = check({**item, "t": "msg"})
    except Corrupt as exc:
        raise ImportFailed(f"{where}: {exc}") from None
    assert isinstance(msg, Message)
    imported.data.messages.append(msg)
    imported.extras.append({k: v for k, v in item.items() if k not in MESSAGE_KEYS and k != "t"})


def _time(value: Any, where: str) -> float:
    """A time given as seconds since the epoch, checked (``ImportFailed``)."""
    if type(value) not in (int, float):
        raise ImportFailed(f"{where} is not a number")
    try:
        seconds = float(value)
    except OverflowError:
        seconds = math.inf
    if not EARLIEST <= seconds <= LATEST:  # also NaN
        raise ImportFailed(f"{where} is not a time from 1970 to 9999 ({value!r})")
    return seconds


def checked(imported: Imported) -> Imported:
    """Refuse what would break a session once it is in the store, whichever
    tool it came from: a time that is not within 1970..9999 (``sessions
    list`` could not show it), a lone surrogate in any text (it cannot be
    written out as UTF-8; JSON's ``"\\ud800"`` makes one)."""
    where = imported.source
    data = imported.data
    _time(data.created, f"{where}: session: created")
    _time(data.modified, f"{where}: session: modified")
    for key, text in (("name", data.name), ("model", data.model), ("system", data.system)):
        _text(text, f"{where}: session: {key}")
    records = message_records(imported)
    for i, (msg, extra, rec) in enumerate(
        zip(data.messages, imported.extras, records, strict=True), 1
    ):
        at = f"{where}: message {i}"
        try:
            check(rec)  # as the store will
        except Corrupt as exc:
            raise ImportFailed(f"{at}: {exc}") from None
        _time(msg.ts, f"{at}: ts")
        for key, text in (("content", msg.content), ("model", msg.model), ("id", msg.id)):
            _text(text, f"{at}: {key}")
        _text(msg.status, f"{at}: status")
        for key, value in extra.items():
            _text(key + json.dumps(value, ensure_ascii=False, default=str), f"{at}: {key!r}")
    return imported


def _text(text: str, where: str) -> None:
    bad = lone_surrogate(text)
    if bad:
        raise ImportFailed(f"{where} holds a lone surrogate ({bad}), which is not text")


def _message_dict(m: Message) -> dict[str, Any]:
    """A message's fields, without the event-log ones it does not have."""
    item = asdict(m)
    empty_fields = (
        ("eid", ""),
        ("parent", ""),
        ("data", None),
        ("aborted", False),
        ("tools", None),
    )
    for key, empty in empty_fields:
        if item.get(key) == empty:
            del item[key]
    return item


def message_records(imported: Imported) -> list[dict[str, Any]]:
    out = []
    for msg, extra in zip(imported.data.messages, imported.extras, strict=True):
        rec: dict[str, Any] = {"t": "msg", **_message_dict(msg), **extra}
        if not rec["id"]:
            del rec["id"]
        if rec.get("tools") is None:
            rec.pop("tools", None)
        out.append(rec)
    return out


def write_sessions(store: Store, items: list[tuple[str, Imported]]) -> None:
    """Create each session under its name, whole; if any name exists or any
    write fails, the sessions written so far are removed again and nothing
    is left behind. Never overwrites."""
    names = [name for name, _ in items]
    for name, imported in items:
        validate_name(name)
        checked(imported)
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SessionExists(f"two imported sessions would both be named {dupes[0]!r}")
    for name in names:
        if store.exists(name):
            raise SessionExists(
                f"session {name!r} already exists; import under another name with --as NAME"
            )
    written: list[str] = []
    try:
        for name, imported in items:
            write_one(store, name, imported)
            written.append(name)
    except BaseException:
        for name in written:
            with contextlib.suppress(Exception):
                store.delete(name)
        raise


def write_one(store: Store, name: str, imported: Imported) -> None:
    """One session, its file created whole (killed midway: no session)."""
    src = imported.data
    data = SessionData(name=name, model=src.model, system=src.system, created=src.created)
    store.create(data, message_records(imported), mtime=src.modified or None)
