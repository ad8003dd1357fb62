"""The trash: what ``:rm`` and ``:clear`` remove, kept until restored or purged.

Layout: ``DATA_DIR/trash/NAME~STAMP~KIND.jsonl`` (0700 dir, 0600 files), where
STAMP is the time of removal in nanoseconds and KIND is ``rm`` (the session
file itself, moved here in one rename) or ``clear`` (a session file holding
the messages ``:clear`` removed, written whole before it gets its name). ``~``
never occurs in a session name, so the name says all there is to know and no
index file can disagree with the files.

Users see and type a short stamp: ``NAME~YYYYMMDD-HHMMSS`` (local time of
removal; ``.2``, ``.3`` for later removals of NAME within the same second),
and any unique prefix of it; the nanosecond stamp of the file name works too.

Every step is one rename, link or replace: a crash leaves the old state or the
new one. Nothing is purged unless asked (``purge``, ``purge_older``); each
function returns what it removed so the caller can say so.

Purging for real: the text of a cleared message also stays in the session
file (``truncate`` only hides it) and in ``.bak`` copies; ``vacuum`` rewrites
the session file without what is no longer shown (temp file, then replace, a
new file id), and ``purge`` of a ``clear`` entry does that too.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from itertools import chain
from pathlib import Path
from typing import Any

from copilot_repl.errors import (
    BadSessionName,
    SessionExists,
    SessionNotFound,
    StoreError,
    UsageError,
)
from copilot_repl.history import busy, compact, files, index
from copilot_repl.history.files import why
from copilot_repl.history.fork import check_record, message_record
from copilot_repl.history.messages import SessionData
from copilot_repl.history.names import validate_name
from copilot_repl.history.reader import Loaded, read_new
from copilot_repl.history.records import SCHEMA, check, dumps
from copilot_repl.history.store import SUFFIX, Store

TRASH = "trash"
KINDS = ("rm", "clear")


@dataclass(frozen=True)
class Entry:
    """One item in the trash."""

    name: str
    stamp: int  # removed at, nanoseconds since the epoch
    kind: str  # "rm" or "clear"
    path: Path
    label: str = ""  # the short stamp users see (set by ``entries``)

    @property
    def removed(self) -> float:
        return self.stamp / 1e9

    @property
    def id(self) -> str:
        """What ``:restore`` and ``:trash rm`` take: ``NAME~STAMP``."""
        return f"{self.name}~{self.label or short_stamp(self.stamp)}"


def short_stamp(ns: int) -> str:
    """``YYYYMMDD-HHMMSS``, local time."""
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(ns // 10**9))


@dataclass(frozen=True)
class Purged:
    """What a purge removed, for the message that says so."""

    entries: int = 0
    backups: int = 0
    rewritten: tuple[str, ...] = ()  # session files rewritten without cleared text


def trash_dir(store: Store) -> Path:
    return store.root / TRASH


def _ensure(store: Store) -> Path:
    store.ensure()
    d = trash_dir(store)
    try:
        os.mkdir(d, 0o700)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"cannot create {d}: {why(exc)}") from None
    return d


def _entry_path(store: Store, name: str, kind: str) -> tuple[Path, int]:
    d = _ensure(store)
    stamp = time.time_ns()
    while (d / f"{name}~{stamp}~{kind}{SUFFIX}").exists():
        stamp += 1
    return d / f"{name}~{stamp}~{kind}{SUFFIX}", stamp


def parse_entry(path: Path) -> Entry | None:
    stem = path.name[: -len(SUFFIX)] if path.name.endswith(SUFFIX) else ""
    parts = stem.split("~")
    if len(parts) != 3 or parts[2] not in KINDS or not parts[1].isdigit():
        return None
    try:
        validate_name(parts[0])
    except BadSessionName:
        return None
    return Entry(parts[0], int(parts[1]), parts[2], path)


def entries(store: Store) -> list[Entry]:
    """Everything in the trash, newest first."""
    try:
        found = [parse_entry(Path(e.path)) for e in os.scandir(trash_dir(store))]
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"cannot list {trash_dir(store)}: {why(exc)}") from None
    return _labelled(sorted((e for e in found if e is not None), key=lambda e: e.stamp))


def _labelled(oldest_first: list[Entry]) -> list[Entry]:
    """Each entry with its short stamp (``.2``, ``.3`` for later ones of the
    same name in the same second), newest first."""
    seen: dict[tuple[str, str], int] = {}
    out = []
    for e in oldest_first:
        label = short_stamp(e.stamp)
        n = seen[e.name, label] = seen.get((e.name, label), 0) + 1
        out.append(replace(e, label=label if n == 1 else f"{label}.{n}"))
    return out[::-1]


def find(store: Store, spec: str) -> Entry:
    """The entry ``spec`` names: ``NAME~STAMP`` (the short stamp, a unique
    prefix of it, or the file's nanosecond stamp), or ``NAME`` (its newest)."""
    name, _, stamp = spec.partition("~")
    mine = [e for e in entries(store) if e.name == name]
    if mine and not stamp:
        return mine[0]
    exact = [e for e in mine if stamp in (e.label, str(e.stamp))]
    if exact:
        return exact[0]
    hits = [e for e in mine if e.label.startswith(stamp)]
    if len(hits) == 1:
        return hits[0]
    if hits:
        listed = ", ".join(e.id for e in hits[:5])
        raise UsageError(f"{spec!r} matches {len(hits)} entries in the trash ({listed}): say which")
    raise SessionNotFound(f"nothing named {spec!r} in the trash (:trash lists it)")


def _as_listed(store: Store, entry: Entry) -> Entry:
    """``entry`` with the short stamp ``entries`` gives it."""
    return next((e for e in entries(store) if e.path == entry.path), entry)


# -- putting things in ------------------------------------------------------


def trash_session(store: Store, name: str) -> Entry:
    """``:rm``: move the session file into the trash, in one rename (under the
    file's lock, like ``Store.delete``)."""
    with busy.no_turn(store.root, name, f":rm {name}"):
        return _trash_session(store, name)


def _trash_session(store: Store, name: str) -> Entry:
    src = store.path(name)
    try:
        fd = files.open_regular(src, os.O_RDONLY)
    except FileNotFoundError:
        raise SessionNotFound(f"no session named {name!r}") from None
    except OSError as exc:
        raise StoreError(f"cannot move {src} to the trash: {why(exc)}") from None
    try:
        dst, stamp = _entry_path(store, name, "rm")
        with files.locked(fd, fcntl.LOCK_EX):
            files.rename_noreplace(src, dst)
    except FileNotFoundError:
        raise SessionNotFound(f"no session named {name!r}") from None
    except OSError as exc:
        raise StoreError(f"cannot move {src} to the trash: {why(exc)}") from None
    finally:
        os.close(fd)
    return _as_listed(store, Entry(name, stamp, "rm", dst))


def trash_messages(store: Store, loaded: Loaded, keep: int = 0) -> Entry | None:
    """``:clear`` (before the truncate): a session file holding the messages
    after the first ``keep``, written whole into the trash. None if there are
    none."""
    data = loaded.data
    gone = data.messages[keep:]
    if not gone:
        return None
    header = _header(loaded.head, data)
    # written as the messages are read: a long history is never in memory whole
    records = chain([header], (message_record(m) for m in gone))
    dst, stamp = _entry_path(store, data.name, "clear")
    try:
        files.create_new(dst, (dumps(r) for r in records))
    except OSError as exc:
        raise StoreError(f"cannot write {dst}: {why(exc)}") from None
    return _as_listed(store, Entry(data.name, stamp, "clear", dst))


def _header(line: bytes, data: SessionData, *, new_id: bool = True) -> dict[str, Any]:
    """The session's header line rewritten as the session is now (model and
    system current; extra keys such as ``fork`` kept), with a new file id."""
    header: dict[str, Any] = {}
    with contextlib.suppress(ValueError, RecursionError):
        old = json.loads(line)
        if type(old) is dict:
            header = old
    header.update(
        t="session",
        schema=SCHEMA,
        file_id=os.urandom(8).hex() if new_id else header.get("file_id", ""),
        name=data.name,
        model=data.model,
        system=data.system,
        created=data.created,
    )
    check(header)
    return header


# -- taking things out ------------------------------------------------------


def load_entry(entry: Entry) -> Loaded:
    """The session an entry holds, read like a session file."""
    fd = files.open_existing(
        entry.path, os.O_RDONLY, missing=f"{entry.id} is no longer in the trash", doing="read"
    )
    try:
        loaded = Loaded(data=SessionData(name=entry.name, model=""))
        with files.locked(fd, fcntl.LOCK_SH):
            read_new(fd, loaded, entry.path)
        return loaded
    except OSError as exc:
        raise StoreError(f"cannot read {entry.path}: {why(exc)}") from None
    finally:
        os.close(fd)


def restore(store: Store, entry: Entry, as_name: str | None = None) -> str:
    """Bring an entry back; returns the session's name. An ``rm`` entry
    becomes the session again (``SessionExists`` if the name is taken: give
    ``as_name``). A ``clear`` entry puts its messages back in front of the
    session's current ones (one append), or becomes the session if it is gone."""
    name = validate_name(as_name or entry.name)
    if entry.kind == "clear" and store.exists(name):
        cleared = load_entry(entry).data.messages
        live = store.load(name)
        records = [
            {"t": "truncate", "keep": 0},
            # without ids: an id of a reply cut short is skipped when read again
            *(message_record(m, with_id=False) for m in cleared),
            *(message_record(m, with_id=False) for m in live.data.messages),
        ]
        store.append(name, *records, loaded=live)
        _unlink(entry.path)
        return name
    store.ensure()
    dst = store.path(name)
    try:
        files.rename_noreplace(entry.path, dst)
    except FileExistsError:
        raise SessionExists(
            f"session {name!r} exists; restore as another name: :restore {entry.name} --as NEW"
        ) from None
    except FileNotFoundError:
        raise SessionNotFound(f"{entry.id} is no longer in the trash") from None
    except OSError as exc:
        raise StoreError(f"cannot restore {entry.path}: {why(exc)}") from None
    return name


def purge(store: Store, entry: Entry) -> Purged:
    """Delete an entry for good. For a ``clear`` entry the session it came
    from is rewritten without the cleared messages first (``vacuum``): if
    that is refused (a turn in flight, here or in another process), the
    entry stays, so what was meant to be purged can still be."""
    rewritten: tuple[str, ...] = ()
    backups = 0
    if entry.kind == "clear" and store.exists(entry.name):
        with busy.no_turn(store.root, entry.name, f"purge {entry.id}"):
            done = vacuum(store, entry.name)
        rewritten, backups = (entry.name,) if done.rewritten else (), done.backups
    _unlink(entry.path)
    return Purged(1, backups + _drop_backups(store, entry.name, only_orphans=True), rewritten)


def purge_older(
    store: Store, days: float, now: float | None = None
) -> tuple[list[Entry], list[str]]:
    """Purge the entries removed more than ``days`` ago; returns them, and
    one line for each that could not be purged now (it stays for next time)."""
    now = time.time() if now is None else now
    old = [e for e in entries(store) if e.removed < now - days * 86400]
    gone, kept = [], []
    for e in old:
        try:
            purge(store, e)
        except (UsageError, StoreError) as exc:
            kept.append(str(exc))
            continue
        except SessionNotFound:
            continue  # purged by another process meanwhile
        gone.append(e)
    return gone, kept


def vacuum(store: Store, name: str) -> Purged:
    """Rewrite a session file holding only what it shows: no cleared or
    replaced messages, no finished reply parts, no superseded settings, and
    remove its ``.bak`` copies (and its index sidecar, which may hold text).
    Refused while a reply streams into it. The file is read through its
    index and compared and written a piece at a time: a long one is never
    in memory whole."""
    path = store.path(name)
    fd = files.open_existing(path, os.O_RDONLY, missing=f"no session named {name!r}", doing="read")
    try:
        with files.locked(fd, fcntl.LOCK_EX):
            loaded = store.read_open(fd, name, path)
            if loaded.read_only:
                raise StoreError(f"cannot rewrite {path}: {loaded.read_only}")
            if loaded.parts:
                raise UsageError(f"a reply is streaming into {name}; purge when it is done")
            size = os.fstat(fd).st_size
            messages = loaded.data.messages
            kept = compact.current(compact.scan_file(fd), messages)
            tail = [kept.record()] if kept is not None else []
            head = files.first_line(fd, limit=size + 1)

            def records(new_id: bool) -> Iterable[dict[str, Any]]:
                header = _header(head, loaded.data, new_id=new_id)
                return chain([header], (message_record(m) for m in messages), tail)

            same = _holds(fd, size, (dumps(r) for r in records(new_id=False)))
            if not same:  # a new file: a new id, so no reader takes it for the old one
                files.write_atomic(path, (dumps(check_record(r)) for r in records(new_id=True)))
                index.remove(store.root, head)
    except OSError as exc:
        raise StoreError(f"cannot rewrite {path}: {why(exc)}") from None
    finally:
        os.close(fd)
    return Purged(0, _drop_backups(store, name), () if same else (name,))


def _holds(fd: int, size: int, pieces: Iterable[bytes]) -> bool:
    """Whether the ``size`` bytes of the file open as ``fd`` are ``pieces``,
    joined (read a block at a time; False at the first difference)."""
    at, buf, buf_at = 0, b"", 0
    for piece in pieces:
        end = at + len(piece)
        if end > size:
            return False
        if end > buf_at + len(buf):
            buf, buf_at = files.read_from(fd, at, min(size, max(end, at + files.CHUNK))), at
        if buf[at - buf_at : end - buf_at] != piece:
            return False
        at = end
    return at == size


def _drop_backups(store: Store, name: str, *, only_orphans: bool = False) -> int:
    """Remove ``NAME.jsonl.*.bak`` (copies kept before a torn file was
    repaired): they hold the text too. ``only_orphans``: only if the session
    itself is gone."""
    if only_orphans and store.exists(name):
        return 0
    prefix = f"{name}{SUFFIX}."
    count = 0
    with contextlib.suppress(OSError):
        for e in os.scandir(store.sessions_dir):
            if e.name.startswith(prefix) and e.name.endswith(".bak"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(e.path)
                    count += 1
    return count


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        raise SessionNotFound(f"{path.name} is no longer in the trash") from None
    except OSError as exc:
        raise StoreError(f"cannot delete {path}: {why(exc)}") from None
