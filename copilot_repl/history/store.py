"""Sessions on disk: one append-only JSON Lines file per session.

Layout under the data dir (0700; files 0600)::

    sessions/NAME.jsonl     first line: {"t": "session", "schema": 1, ...}
    state.json              {"current": NAME}
    input_history           the shell's Up/Down history

Records after the header (each one line, written whole under an advisory lock):

    {"t": "msg", "role", "content", "ts", "status", "model", "tokens"}
    {"t": "part", "id", "text"}     a growing reply, saved as it streams
    {"t": "end", "id"}              the reply with that id is complete (a msg follows)
    {"t": "meta", "model"? , "system"?}
    {"t": "truncate", "keep": N}    keep only the first N messages (:clear, :retry)

Nothing is ever rewritten in place. A torn or corrupt line is skipped with a
warning; before appending after a torn last line a copy of the file is kept.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot_repl.errors import SessionExists, SessionNotFound, StoreError
from copilot_repl.history.messages import DONE, INTERRUPTED, Message, SessionData
from copilot_repl.history.names import validate_name

SCHEMA = 1
SUFFIX = ".jsonl"


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


@dataclass(frozen=True)
class Summary:
    """What ``:ls`` shows, read cheaply."""

    name: str
    model: str
    messages: int
    modified: float


def dumps(record: dict[str, Any]) -> bytes:
    return (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()


class Store:
    """All reading and writing of saved sessions and state."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.sessions_dir = self.root / "sessions"

    # -- set-up ---------------------------------------------------------
    def ensure(self) -> None:
        for d in (self.root, self.sessions_dir):
            try:
                d.mkdir(mode=0o700, parents=True, exist_ok=True)
                if d.stat().st_mode & 0o077:
                    d.chmod(0o700)
            except OSError as exc:
                raise StoreError(f"cannot create data dir {d}: {_why(exc)}") from None

    def path(self, name: str) -> Path:
        return self.sessions_dir / f"{validate_name(name)}{SUFFIX}"

    # -- listing --------------------------------------------------------
    def names(self) -> list[str]:
        try:
            return sorted(p.name[: -len(SUFFIX)] for p in self.sessions_dir.glob(f"*{SUFFIX}"))
        except OSError:
            return []

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def summaries(self) -> list[Summary]:
        """One line per session for ``:ls``. A file unchanged since it was last
        summarised (same size, mtime and inode) is not read again: the
        summaries are cached in ``summaries.json``."""
        cache = self._read_cache()
        fresh: dict[str, list[Any]] = {}
        out = []
        for name in self.names():
            try:
                st = self.path(name).stat()
                key = [st.st_size, st.st_mtime_ns, st.st_ino]
                hit = cache.get(name)
                if hit is not None and hit[:3] == key:
                    summary = Summary(name, str(hit[3]), int(hit[4]), st.st_mtime)
                else:
                    summary, settled = self._summary(name, st.st_mtime)
                    if not settled:
                        out.append(summary)
                        continue
                fresh[name] = [*key, summary.model, summary.messages]
                out.append(summary)
            except (OSError, StoreError, ValueError, TypeError, IndexError):
                continue
        if fresh != cache:
            self._write_cache(fresh)
        return out

    def _summary(self, name: str, mtime: float) -> tuple[Summary, bool]:
        """The summary, and whether it can be cached (no reply still streaming)."""
        raw = self.path(name).read_bytes()
        if b'"t":"truncate"' in raw:
            data = self.load(name).data
            return Summary(name, data.model, len(data.messages), mtime), not _streaming(raw)
        header, _, _ = raw.partition(b"\n")
        model = _json_field(header, "model")
        meta = raw.rfind(b'{"t":"meta","model"')
        if meta >= 0:
            model = _json_field(raw[meta : raw.find(b"\n", meta)], "model") or model
        count = raw.count(b'{"t":"msg"') + _cut_replies(raw)
        return Summary(name, model, count, mtime), not _streaming(raw)

    def _read_cache(self) -> dict[str, list[Any]]:
        try:
            data = json.loads((self.root / "summaries.json").read_bytes())
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write_cache(self, cache: dict[str, list[Any]]) -> None:
        path = self.root / "summaries.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump(cache, f, separators=(",", ":"))
            os.replace(tmp, path)
        except OSError:
            pass  # a cache: :ls just reads the files again next time

    # -- create / delete / rename ---------------------------------------
    def create(self, data: SessionData) -> Loaded:
        self.ensure()
        path = self.path(data.name)
        header = {
            "t": "session",
            "schema": SCHEMA,
            "name": data.name,
            "model": data.model,
            "system": data.system,
            "created": data.created,
        }
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        except FileExistsError:
            raise SessionExists(f"session {data.name!r} already exists") from None
        except OSError as exc:
            raise StoreError(f"cannot create {path}: {_why(exc)}") from None
        try:
            os.write(fd, dumps(header))
            st = os.fstat(fd)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {_why(exc)}") from None
        finally:
            os.close(fd)
        data.modified = data.created
        return Loaded(data=data, offset=st.st_size, inode=st.st_ino, lineno=1)

    def delete(self, name: str) -> None:
        path = self.path(name)
        try:
            path.unlink()
        except FileNotFoundError:
            raise SessionNotFound(f"no session named {name!r}") from None
        except OSError as exc:
            raise StoreError(f"cannot delete {path}: {_why(exc)}") from None

    def rename(self, old: str, new: str) -> None:
        src, dst = self.path(old), self.path(new)
        try:
            os.link(src, dst)  # fails if dst exists: no silent overwrite
            src.unlink()
        except FileExistsError:
            raise SessionExists(f"session {new!r} already exists") from None
        except FileNotFoundError:
            raise SessionNotFound(f"no session named {old!r}") from None
        except OSError as exc:
            raise StoreError(f"cannot rename {src}: {_why(exc)}") from None

    # -- reading --------------------------------------------------------
    def load(self, name: str) -> Loaded:
        path = self.path(name)
        try:
            st = path.stat()
        except FileNotFoundError:
            raise SessionNotFound(f"no session named {name!r}") from None
        loaded = Loaded(
            data=SessionData(name=name, model="", modified=st.st_mtime), inode=st.st_ino
        )
        self.refresh(loaded)
        if not loaded.data.created:
            loaded.data.created = st.st_mtime
        return loaded

    def refresh(self, loaded: Loaded) -> bool:
        """Apply what was appended since the last read (by this or another
        process). Returns True if anything changed."""
        path = self.path(loaded.data.name)
        try:
            with open(path, "rb") as f:
                st = os.fstat(f.fileno())
                if st.st_ino != loaded.inode or st.st_size < loaded.offset:
                    raise SessionNotFound(
                        f"session {loaded.data.name!r} was removed or replaced by another process"
                    )
                if st.st_size == loaded.offset:
                    return False
                f.seek(loaded.offset)
                with _locked(f.fileno(), fcntl.LOCK_SH):
                    chunk = f.read()
        except FileNotFoundError:
            raise SessionNotFound(
                f"session {loaded.data.name!r} was deleted (by another process?)"
            ) from None
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {_why(exc)}") from None
        end = chunk.rfind(b"\n") + 1
        pos = loaded.offset
        for line in chunk[:end].split(b"\n")[:-1]:
            loaded.lineno += 1
            self._apply(loaded, line, path, warn=pos != loaded.torn)
            pos += len(line) + 1
        loaded.offset += end
        loaded.data.modified = st.st_mtime
        if end < len(chunk) and loaded.torn != loaded.offset:
            # Writers hold the lock for a whole line: a partial one is a crash's.
            loaded.torn = loaded.offset
            loaded.warnings.append(
                f"{path}, line {loaded.lineno + 1}: incomplete last record skipped "
                "(cut short by a crash?); the file is left as it is"
            )
        _finish_parts(loaded)
        return True

    def _apply(self, loaded: Loaded, line: bytes, path: Path, *, warn: bool = True) -> None:
        if not line.strip():
            return
        try:
            rec = json.loads(line)
            apply_record(loaded, rec)
        except (ValueError, TypeError, KeyError, AttributeError):
            if warn:  # a torn line completed by our next append was reported already
                loaded.warnings.append(
                    f"{path}, line {loaded.lineno}: corrupt record skipped "
                    "(the file is left as it is)"
                )

    # -- writing --------------------------------------------------------
    def append(self, name: str, *records: dict[str, Any]) -> None:
        path = self.path(name)
        payload = b"".join(dumps(r) for r in records)
        try:
            fd = os.open(path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            raise SessionNotFound(f"session {name!r} was deleted (by another process?)") from None
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {_why(exc)}") from None
        try:
            with _locked(fd, fcntl.LOCK_EX):
                if _torn(fd):
                    _keep_copy(path)
                    payload = b"\n" + payload
                os.write(fd, payload)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {_why(exc)}") from None
        finally:
            os.close(fd)

    # -- state ----------------------------------------------------------
    def current(self) -> str | None:
        try:
            name = json.loads((self.root / "state.json").read_text()).get("current")
            return str(name) if name and self.exists(str(name)) else None
        except (OSError, ValueError, AttributeError):
            return None

    def set_current(self, name: str) -> None:
        path = self.root / "state.json"
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as f:
                json.dump({"current": name}, f)
            os.replace(tmp, path)
        except OSError:
            pass  # losing "last active session" is harmless

    def input_history_path(self) -> Path:
        path = self.root / "input_history"
        with contextlib.suppress(OSError):  # the shell then runs without saved history
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        return path


def apply_record(loaded: Loaded, rec: dict[str, Any]) -> None:
    """Apply one record to the in-memory session (pure)."""
    data = loaded.data
    kind = rec["t"]
    if kind == "session":
        data.model = str(rec.get("model", ""))
        data.system = str(rec.get("system", ""))
        data.created = float(rec.get("created", 0.0))
    elif kind == "msg":
        rid = str(rec.get("id", ""))
        if rid in loaded.sealed:
            return  # already shown as the interrupted reply it was
        msg = _message(rec)
        loaded.parts.pop(rid, None)
        _finish_parts(loaded)
        data.messages.append(msg)
    elif kind == "part":
        loaded.parts.setdefault(str(rec["id"]), []).append(str(rec["text"]))
    elif kind == "meta":
        data.model = str(rec.get("model", data.model))
        data.system = str(rec.get("system", data.system))
    elif kind == "truncate":
        del data.messages[int(rec["keep"]) :]
    else:
        raise ValueError(kind)


def _message(rec: dict[str, Any]) -> Message:
    role = rec["role"]
    if role not in ("user", "assistant"):
        raise ValueError(role)
    return Message(
        role=role,
        content=str(rec["content"]),
        ts=float(rec.get("ts", 0.0)),
        status=str(rec.get("status", DONE)),
        model=str(rec.get("model", "")),
        tokens=int(rec.get("tokens", 0)),
        id=str(rec.get("id", "")),
    )


def _finish_parts(loaded: Loaded) -> None:
    """Leave growing replies in ``parts`` while their writer lives; one whose
    process is gone (kill -9) becomes an interrupted assistant message."""
    for rid in list(loaded.parts):
        if not _writer_alive(rid):
            text = "".join(loaded.parts.pop(rid))
            loaded.sealed.add(rid)
            loaded.data.messages.append(
                Message(role="assistant", content=text, ts=time.time(), status=INTERRUPTED)
            )


# Identifies this process among others that had the same pid (containers often
# give every run the same one): reply ids are ``PID-TOKEN-N``.
PROCESS_TOKEN = f"{os.getpid()}-{os.urandom(4).hex()}"


def _writer_alive(rid: str) -> bool:
    """A part whose writing process is gone was cut short (kill -9, crash)."""
    pid = rid.partition("-")[0]
    if not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return rid.startswith(PROCESS_TOKEN + "-")
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# An unescaped "id":" can only be a key: inside a JSON string the quotes are escaped.
_PART_ID = re.compile(rb'\{"t":"part",[^\n]*?"id":"([^"\\]+)"')
_MSG_ID = re.compile(rb'\{"t":"msg",[^\n]*?"id":"([^"\\]+)"')


def _streaming(raw: bytes) -> bool:
    """Whether a reply in ``raw`` has parts but no final message yet."""
    if b'{"t":"part"' not in raw:
        return False
    return bool(set(_PART_ID.findall(raw)) - set(_MSG_ID.findall(raw)))


def _cut_replies(raw: bytes) -> int:
    """How many replies were cut short (parts with no final msg, writer gone):
    ``load`` shows each as an interrupted message."""
    if b'{"t":"part"' not in raw:
        return 0
    ended = set(_MSG_ID.findall(raw))
    cut = set(_PART_ID.findall(raw)) - ended
    return sum(1 for rid in cut if not _writer_alive(rid.decode("ascii", "replace")))


def _json_field(line: bytes, key: str) -> str:
    try:
        return str(json.loads(line).get(key, ""))
    except (ValueError, AttributeError):
        return ""


def _torn(fd: int) -> bool:
    size = os.fstat(fd).st_size
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def _keep_copy(path: Path) -> None:
    backup = path.with_name(f"{path.name}.{int(time.time())}.bak")
    shutil.copy2(path, backup)
    os.chmod(backup, 0o600)


@contextmanager
def _locked(fd: int, how: int) -> Iterator[None]:
    fcntl.flock(fd, how)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def _why(exc: OSError) -> str:
    import errno

    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "the data dir is read-only or not writable"
    return exc.strerror or str(exc)
