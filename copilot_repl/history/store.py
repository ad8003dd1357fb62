"""Sessions on disk: one append-only JSON Lines file per session.

Layout under the data dir (0700 when copilot-repl creates it; files 0600)::

    sessions/NAME.jsonl     first line: {"t": "session", "schema": 2, ...}
    state.json              {"current": NAME}                    (state.py)
    summaries.json          what :ls shows, by file size, mtime and inode (a cache: summaries.py)
    input_history           the shell's Up/Down history          (input_history.py)
    index/KEY.idx           a long session's index sidecar       (index.py: a cache)

The records and their shapes are documented in ``records.py``; every line is
checked against them when read, and every record before it is written.

Rules that keep other processes' work and the user's files safe:

- A record is written whole under an exclusive ``flock``, every byte or none
  (a short write is rolled back, and ``StoreError`` raised). Nothing already
  written is rewritten; a torn last line (a crash mid-write) is kept as a
  ``.bak`` copy and closed with a newline before the next append.
- A session file is created whole (temp file, then ``link``): never empty or
  without its header. One that is (left by an older version) is reported, and
  ``create`` replaces it.
- Session files are never opened through a symlink, and only regular files
  are read: a FIFO, device or stray name in ``sessions/`` is skipped, reported
  once in ``Store.warnings``.
- A write given the ``Loaded`` it is based on goes only into the file that was
  read (same device and inode); a file renamed by another process is followed,
  one removed or replaced raises ``SessionNotFound``. ``truncate`` refuses when
  another process changed the messages since this one last read them.
- A file written by a newer copilot-repl (a higher ``schema``) opens
  read-only.

Errors: ``SessionNotFound`` (no such session, or gone), ``SessionExists``,
``BadSessionName``, ``SessionChanged`` (``truncate`` only), ``StoreError``
(everything else: unreadable, not a regular file, no valid header, disk
full). Corrupt records never raise: they are skipped and reported.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from copilot_repl.errors import (
    BadSessionName,
    ReplError,
    SessionChanged,
    SessionExists,
    SessionNotFound,
    StoreError,
)
from copilot_repl.history import files, index, state, summaries
from copilot_repl.history.files import NotRegular, why
from copilot_repl.history.input_history import input_history_path
from copilot_repl.history.messages import SessionData
from copilot_repl.history.names import validate_name
from copilot_repl.history.reader import (
    HEAD,
    Loaded,
    apply_record,
    blank_message,
    newer_message,
    parse_header,
    read_new,
)
from copilot_repl.history.records import SCHEMA, Corrupt, Header, check, dumps, parse
from copilot_repl.history.summaries import Summary
from copilot_repl.history.writers import PROCESS_TOKEN, pid_exists

__all__ = [
    "PROCESS_TOKEN",
    "SCHEMA",
    "SUFFIX",
    "Loaded",
    "Store",
    "Summary",
    "apply_record",
    "dumps",
]

SUFFIX = ".jsonl"


class Store:
    """All reading and writing of saved sessions and state."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.sessions_dir = self.root / "sessions"
        # One line each, reported once per process: the front end shows them.
        self.warnings: list[str] = []
        self._reported: set[str] = set()
        self._origins: dict[str, str] = {}  # name -> what made it ("" : a person)
        # name -> (mtime_ns, size) of a file whose origin could not be read
        # (damaged): read again only once it changes, not at every redraw
        self._unread: dict[str, tuple[int, int]] = {}
        # name -> (file key, summary) of the long sessions this process read
        self._read_summaries: dict[str, tuple[list[int], Summary]] = {}
        self._kept: dict[str, Loaded] = {}  # read already: the next load takes it (keep)
        # while ``summaries`` reads many files: indexes left behind are
        # removed once, at its end, not after each index it makes
        self._listing = False
        self._prune_due = False

    def take_warnings(self) -> list[str]:
        """Warnings collected so far (stray files, open data dir), emptied."""
        out, self.warnings = self.warnings, []
        return out

    def _warn_once(self, text: str) -> None:
        if text not in self._reported:
            self._reported.add(text)
            self.warnings.append(text)

    # -- set-up ---------------------------------------------------------
    def ensure(self) -> None:
        """Create the data dir and ``sessions/`` (0700) if missing. An existing
        dir is never chmodded: one other users can write to is reported. One
        that can be read but not written (a read-only mount) is used: reads
        work, and each write fails with one line."""
        for d in (self.root, self.sessions_dir):
            self._ensure_dir(d)
        if not os.access(self.sessions_dir, os.R_OK | os.X_OK):
            raise StoreError(
                f"cannot use data dir {self.root}: no permission to read or enter "
                f"{self.sessions_dir}"
            )

    def _ensure_dir(self, d: Path) -> None:
        try:
            if d == self.root:
                d.parent.mkdir(parents=True, exist_ok=True)
            os.mkdir(d, 0o700)
            os.chmod(d, 0o700)  # ours: exactly 0700, whatever the umask
            return
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"cannot create data dir {d}: {why(exc)}") from None
        try:
            st = os.stat(d)
        except OSError as exc:
            raise StoreError(f"cannot use data dir {d}: {why(exc)}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise StoreError(f"cannot use data dir {d}: it is not a directory")
        if st.st_mode & 0o022:
            self._warn_once(
                f"data dir {d} can be written by other users (mode "
                f"{stat.S_IMODE(st.st_mode):o}); copilot-repl leaves it as it is "
                f"(chmod 700 {d} if that is not intended)"
            )

    def path(self, name: str) -> Path:
        return self.sessions_dir / f"{validate_name(name)}{SUFFIX}"

    # -- listing --------------------------------------------------------
    def names(self) -> list[str]:
        """Valid session names with a regular file; anything else in
        ``sessions/`` (a FIFO, a symlink, ``main (copy).jsonl``) is skipped and
        reported once. Temp files of dead processes are removed."""
        out = []
        try:
            entries = list(os.scandir(self.sessions_dir))
        except FileNotFoundError:
            return []
        except OSError as exc:
            self._warn_once(f"cannot list {self.sessions_dir}: {why(exc)}")
            return []
        for entry in entries:
            if entry.name.startswith("."):
                self._sweep(entry.name)
                continue
            if not entry.name.endswith(SUFFIX):
                continue
            name = entry.name[: -len(SUFFIX)]
            try:
                validate_name(name)
            except BadSessionName:
                self._warn_once(
                    f"{entry.path} skipped: {name!r} is not a valid session name "
                    "(rename it to letters, digits, '.', '_' or '-')"
                )
                continue
            try:
                regular = entry.is_file(follow_symlinks=False)
            except OSError:
                regular = False
            if not regular:
                self._warn_once(f"{files.not_regular(Path(entry.path))}; skipped")
                continue
            out.append(name)
        return sorted(out)

    def _sweep(self, hidden: str) -> None:
        """Remove a temp file left by a process that died while creating a file."""
        pid = files.tmp_owner(hidden)
        if pid is None or pid == os.getpid() or pid_exists(pid):
            return
        with contextlib.suppress(OSError):
            os.unlink(self.sessions_dir / hidden)

    def exists(self, name: str) -> bool:
        try:
            os.lstat(self.path(name))
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StoreError(f"cannot read {self.path(name)}: {why(exc)}") from None
        return True

    def summaries(self) -> list[Summary]:
        """One line per session for ``:ls``, exactly what ``load`` would give.
        A file unchanged since it was last summarised (same size, mtime and
        inode) is not read again: the summaries are cached in ``summaries.json``.
        A file that cannot be loaded is skipped and reported once."""
        cache = summaries.read_cache(self.root)
        fresh: dict[str, dict[str, Any]] = {}
        out = []
        self._listing = True
        try:
            for name in self.names():
                try:
                    summary, entry = self._summary(name, cache.get(name))
                except (SessionNotFound, FileNotFoundError):
                    continue  # removed meanwhile
                except StoreError as exc:
                    self._warn_once(str(exc))
                    continue
                except OSError as exc:
                    self._warn_once(f"cannot read {self.path(name)}: {why(exc)}")
                    continue
                if summary is None:
                    continue
                if entry is not None:
                    fresh[name] = entry
                out.append(summary)
        finally:
            self._listing = False
        if self._prune_due:
            self._prune_indexes()
        if fresh != cache:
            summaries.write_cache(self.root, fresh)
        return out

    def reopen_candidates(self) -> Iterator[str]:
        """The sessions a front end reopens at start, in order: the last
        active one, then the others, newest first, but not what one-shots and
        comparisons made (listed only if the first does not open)."""
        current = self.current()
        if current:
            yield current
        for summary in sorted(self.summaries(), key=lambda s: -s.modified):
            if not summary.origin:
                yield summary.name

    def listed(self, also: str | None = None) -> list[str]:
        """The names Tab, the toolbar and ``:ls`` show: all but what one-shots
        and comparisons made (``also``: shown anyway, the current session).
        A session's origin never changes, so it is looked up once per name:
        the toolbar calls this at every redraw."""
        names = self.names()
        unknown = {n: self._file_key(n) for n in names if n not in self._origins}
        if any(self._unread.get(n) != key for n, key in unknown.items()):
            self._origins.update((s.name, s.origin) for s in self.summaries())
            self._unread = {n: k for n, k in unknown.items() if n not in self._origins}
        return [n for n in names if not self._origins.get(n) or n == also]

    def _file_key(self, name: str) -> tuple[int, int]:
        """What changes when session ``name``'s file does (0s: gone)."""
        try:
            st = self.path(name).stat()
        except OSError:
            return (0, 0)
        return (st.st_mtime_ns, st.st_size)

    def mark_origin(self, name: str, origin: str) -> None:
        """Record what made session ``name`` (see ``listed``)."""
        self.append(name, {"t": "meta", "origin": origin})
        self._origins[name] = origin

    def _summary(self, name: str, hit: Any) -> tuple[Summary | None, dict[str, Any] | None]:
        """The summary, and its cache entry if it may be cached (no reply is
        still streaming): ``hit`` itself when it holds for the file. None if
        ``name`` turned out to be a second name of another session (a rename
        cut short) and was removed. (``name`` is one ``names`` gave: valid.)"""
        path = os.path.join(self.sessions_dir, name + SUFFIX)
        st = os.lstat(path)
        if st.st_nlink > 1:
            loaded = self.load(name)
            if loaded.data.name != name:
                return None, None
            st = os.lstat(path)
        key = [st.st_size, st.st_mtime_ns, st.st_ino]
        cached = summaries.from_cache(name, hit, key, st.st_mtime)
        if cached is not None:
            return cached, hit
        read = self._read_summaries.get(name)
        if read is not None and read[0] == key:
            return read[1], summaries.cache_entry(read[1], key)
        loaded = self.load(name)
        summary = summaries.summarize(name, loaded)
        return summary, None if loaded.parts else summaries.cache_entry(summary, key)

    # -- create / delete / rename ---------------------------------------
    def create(
        self,
        data: SessionData,
        records: Sequence[dict[str, Any]] = (),
        *,
        mtime: float | None = None,
    ) -> Loaded:
        """Create a session file holding the header (and ``records``, each
        checked; ``mtime``: its modification time), all at once: killed
        midway, there is no session. A blank file of that name (left by a
        crash in an older version) is replaced. With ``records`` the
        ``Loaded`` returned is only the header's: ``load`` reads the rest."""
        self.ensure()
        path = self.path(data.name)
        header = {
            "t": "session",
            "schema": SCHEMA,
            "file_id": os.urandom(8).hex(),
            "name": data.name,
            "model": data.model,
            "system": data.system,
            "created": data.created,
        }
        if data.cwd:
            header["cwd"] = data.cwd
        check(header)  # never write a header that would not load
        for rec in records:
            check(rec)
        line = dumps(header)
        payload = line + b"".join(dumps(r) for r in records) if records else line
        try:
            st = files.create_new(path, payload, replace_blank=True, mtime=mtime)
        except FileExistsError:
            raise SessionExists(f"session {data.name!r} already exists") from None
        except OSError as exc:
            raise StoreError(f"cannot create {path}: {why(exc)}") from None
        data.modified = data.created
        return Loaded(
            data=data,
            offset=st.st_size,
            inode=st.st_ino,
            device=st.st_dev,
            lineno=1,
            schema=SCHEMA,
            head=line[:-1][:HEAD],
        )

    def delete(self, name: str) -> None:
        """Remove the session's name (under the file's lock, so a writer in
        another process sees it gone and stops)."""
        path = self.path(name)
        try:
            fd = files.open_regular(path, os.O_RDONLY)
        except FileNotFoundError:
            raise SessionNotFound(f"no session named {name!r}") from None
        except NotRegular:
            fd = -1  # a stray symlink or FIFO under a session's name: remove the name only
        except OSError as exc:
            raise StoreError(f"cannot delete {path}: {why(exc)}") from None
        try:
            if fd >= 0:
                with files.locked(fd, fcntl.LOCK_EX):
                    os.unlink(path)
                    if os.fstat(fd).st_nlink == 0 and os.fstat(fd).st_size >= index.INDEX_MIN:
                        index.remove(self.root, files.first_line(fd))
            else:
                os.unlink(path)
        except FileNotFoundError:
            raise SessionNotFound(f"no session named {name!r}") from None
        except OSError as exc:
            raise StoreError(f"cannot delete {path}: {why(exc)}") from None
        finally:
            if fd >= 0:
                os.close(fd)

    def rename(self, old: str, new: str, loaded: Loaded | None = None) -> None:
        """Rename in one step (never overwriting ``new``); ``loaded``, if given,
        follows the new name."""
        src, dst = self.path(old), self.path(new)
        fd = files.open_existing(
            src, os.O_RDONLY, missing=f"no session named {old!r}", doing="rename"
        )
        try:
            with files.locked(fd, fcntl.LOCK_EX):
                files.rename_noreplace(src, dst)
        except FileExistsError:
            raise SessionExists(f"session {new!r} already exists") from None
        except FileNotFoundError:
            raise SessionNotFound(f"no session named {old!r}") from None
        except OSError as exc:
            raise StoreError(f"cannot rename {src}: {why(exc)}") from None
        finally:
            os.close(fd)
        if loaded is not None:
            loaded.data.name = new
        if self._named_current() == old:  # the last active session stays so
            self.set_current(new)

    def _repair_links(self, name: str, fd: int) -> str:
        """A file under two session names is a rename cut short between
        ``link`` and ``unlink``. If the header names one of the two (the name
        it was created with), finish the rename; otherwise report it. Returns
        the name to use."""
        with files.locked(fd, fcntl.LOCK_EX):  # a rename in progress holds it
            st = os.fstat(fd)
            if st.st_nlink < 2:
                return name
            twins = [n for n in self.names() if _same_file(self.path(n), st)]
            if len(twins) < 2:
                return name
            try:
                header = parse(files.first_line(fd))
                first = header.name if isinstance(header, Header) else ""
            except Corrupt:
                first = ""
            others = [n for n in twins if n != first]
            if first not in twins or len(others) != 1:
                listed = ", ".join(repr(n) for n in twins)
                self._warn_once(
                    f"sessions {listed} are one file under {len(twins)} names (a rename cut "
                    "short?); :rm all but one of the names (the file stays under the last)"
                )
                return name
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path(first))
        self._warn_once(
            f"renaming session {first!r} to {others[0]!r} was cut short (a crash?); "
            "the rename is now complete"
        )
        return others[0]

    # -- reading --------------------------------------------------------
    def keep(self, loaded: Loaded) -> None:
        """Hand ``loaded`` (read by ``load`` and not used since) to the next
        ``load`` of its name, which brings it up to date instead of reading
        the file again: the shell's first frame reads the session it shows,
        the client opens it after (a long session is read once)."""
        self._kept[loaded.data.name] = loaded

    def load(self, name: str) -> Loaded:
        """Read a session whole. Raises ``SessionNotFound`` if there is none,
        ``StoreError`` if the file cannot be read, is not a regular file, is
        blank or has no valid header. Corrupt records are skipped and reported
        in ``Loaded.warnings``."""
        kept = self._kept.pop(name, None)
        if kept is not None:
            with contextlib.suppress(ReplError):  # gone or replaced: read it as it is now
                self.refresh(kept)
                if kept.data.name == name:  # not followed to another name
                    return kept
        path = self.path(name)
        fd = files.open_existing(
            path, os.O_RDONLY, missing=f"no session named {name!r}", doing="read"
        )
        try:
            st = os.fstat(fd)
            if st.st_nlink > 1:
                name = self._repair_links(name, fd)
            loaded = Loaded(
                data=SessionData(name=name, model="", modified=st.st_mtime),
                inode=st.st_ino,
                device=st.st_dev,
            )
            with files.locked(fd, fcntl.LOCK_SH):
                loaded = self._read_indexed(fd, loaded, path)
                end = os.fstat(fd)
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {why(exc)}") from None
        finally:
            os.close(fd)
        if not loaded.data.created:
            loaded.data.created = st.st_mtime
        if loaded.data.log.source is not None and not loaded.parts:
            # long: what :ls shows of it, while the file stays as read
            key = [end.st_size, end.st_mtime_ns, end.st_ino]
            if end.st_size == loaded.offset:
                self._read_summaries[name] = (key, summaries.summarize(name, loaded))
        return loaded

    def read_open(self, fd: int, name: str, path: Path) -> Loaded:
        """The session in the file open as ``fd`` (the caller holds its lock),
        read as ``load`` reads it: from where its index sidecar stops, if it
        has one that fits."""
        st = os.fstat(fd)
        loaded = Loaded(
            data=SessionData(name=name, model="", modified=st.st_mtime),
            inode=st.st_ino,
            device=st.st_dev,
        )
        return self._read_indexed(fd, loaded, path)

    def _read_indexed(self, fd: int, loaded: Loaded, path: Path) -> Loaded:
        """Read a session from its start, or (a long one) from where its
        index sidecar stops (``index.py``; one that does not fit this file,
        or whose first or newest entries are not what it says, is ignored);
        then write the index again if it is missing or far behind."""
        size = os.fstat(fd).st_size
        header = files.first_line(fd) if size >= index.INDEX_MIN else b""
        found = index.read(self.root, header) if header else None
        start = 0
        if found is not None and index.fits(found, fd, header):
            trial = Loaded(data=SessionData(name=loaded.data.name, model=""))
            trial.inode, trial.device = loaded.inode, loaded.device
            try:
                if index.restore(trial, found, fd, path, header, self.root):
                    index.spot_check(trial)
                    loaded, start = trial, trial.offset
            except StoreError:
                index.remove(self.root, header)
        read_new(fd, loaded, path)
        behind = header and (start == 0 or loaded.offset - start >= index.REINDEX)
        if behind and index.write(self.root, loaded, fd, header) and start == 0:
            self._prune_due = True  # a new one: any left behind?
            if not self._listing:
                self._prune_indexes()
        return loaded

    def _prune_indexes(self) -> None:
        self._prune_due = False
        index.prune(self.root, self._long_headers())

    def _long_headers(self) -> list[bytes]:
        """The header lines of the sessions long enough to have an index."""
        out = []
        for name in self.names():
            path = os.path.join(self.sessions_dir, name + SUFFIX)
            try:
                if os.lstat(path).st_size < index.INDEX_MIN:
                    continue  # short (or not a file): not opened
                fd = files.open_regular(Path(path), os.O_RDONLY)
            except (OSError, StoreError):
                continue
            try:
                if os.fstat(fd).st_size >= index.INDEX_MIN:
                    out.append(files.first_line(fd))
            except OSError:
                continue
            finally:
                os.close(fd)
        return out

    def refresh(self, loaded: Loaded) -> bool:
        """Apply what was appended since the last read (by this or another
        process); reads only the new bytes. Returns True if anything changed."""
        fd, path = self._open_loaded(loaded, os.O_RDONLY)
        try:
            with files.locked(fd, fcntl.LOCK_SH):
                return read_new(fd, loaded, path)
        except OSError as exc:
            raise StoreError(f"cannot read {path}: {why(exc)}") from None
        finally:
            os.close(fd)

    def _open_loaded(self, loaded: Loaded, flags: int) -> tuple[int, Path]:
        """An fd on the very file ``loaded`` was read from: by its name, or by
        the name another process renamed it to. Raises ``SessionNotFound`` if
        it was deleted, or replaced by another file of the same name."""
        name = loaded.data.name
        path = self.path(name)
        try:
            fd = files.open_regular(path, flags)
        except FileNotFoundError:
            fd = -1
        except OSError as exc:
            raise StoreError(f"cannot open {path}: {why(exc)}") from None
        if fd >= 0:
            if _is_loaded(fd, loaded):
                return fd, path
            os.close(fd)
        for other in self.names() if loaded.inode else []:
            moved = self.path(other)
            try:
                fd2 = files.open_regular(moved, flags)
            except (OSError, StoreError):
                continue
            if _is_loaded(fd2, loaded):
                loaded.data.name = other
                loaded.warnings.append(
                    f"session {name!r} was renamed to {other!r} by another process; "
                    f"continuing as {other!r}"
                )
                return fd2, moved
            os.close(fd2)
        if fd < 0:
            raise SessionNotFound(f"session {name!r} was deleted (by another process?)")
        raise SessionNotFound(f"session {name!r} was removed or replaced by another process")

    # -- writing --------------------------------------------------------
    def append(self, name: str, *records: dict[str, Any], loaded: Loaded | None = None) -> None:
        """Append ``records`` (each checked against its shape: a wrong one is a
        bug, ``ValueError``), every byte or none.

        With ``loaded`` (the session as this process read it), the records go
        only into that very file (``SessionNotFound`` if it was deleted or
        replaced; a rename is followed), and ``loaded`` is brought up to date,
        these records included. Without it, into the file now named ``name``.
        ``StoreError`` if it cannot be written (the file is left as it was)."""
        for rec in records:
            check(rec)
        payload = b"".join(dumps(r) for r in records)
        if loaded is not None:
            fd, path = self._open_loaded(loaded, os.O_RDWR | os.O_APPEND)
        else:
            path = self.path(name)
            fd = self._open_to_write(path, name)
        try:
            with files.locked(fd, fcntl.LOCK_EX):
                self._check_writable(fd, path, loaded, name)
                files.append_whole(fd, payload, keep=path)
                if loaded is not None:
                    _read_back(fd, loaded, path)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {why(exc)}") from None
        finally:
            os.close(fd)

    def truncate(self, loaded: Loaded, keep: int) -> None:
        """Keep only the first ``keep`` messages (``:clear``, ``:retry``), as
        ``loaded`` shows them. Under the lock, what other processes appended
        meanwhile is read first: if it changed the messages, nothing is written
        and ``SessionChanged`` is raised (their messages are never deleted)."""
        if type(keep) is not int or not 0 <= keep <= len(loaded.data.messages):
            raise ValueError(f"keep={keep!r} is not within 0..{len(loaded.data.messages)}")
        seen = loaded.generation
        fd, path = self._open_loaded(loaded, os.O_RDWR | os.O_APPEND)
        try:
            with files.locked(fd, fcntl.LOCK_EX):
                self._check_writable(fd, path, loaded, loaded.data.name)
                read_new(fd, loaded, path)
                if loaded.generation != seen:
                    raise SessionChanged(
                        f"session {loaded.data.name!r} changed in another process meanwhile; "
                        "nothing was deleted (look at it again and retry)"
                    )
                files.append_whole(fd, dumps({"t": "truncate", "keep": keep}), keep=path)
                _read_back(fd, loaded, path)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {why(exc)}") from None
        finally:
            os.close(fd)

    def _open_to_write(self, path: Path, name: str) -> int:
        try:
            return files.open_regular(path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            raise SessionNotFound(f"session {name!r} was deleted (by another process?)") from None
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {why(exc)}") from None

    def _check_writable(self, fd: int, path: Path, loaded: Loaded | None, name: str) -> None:
        """Refuse a deleted file, a read-only (newer schema) one, and one
        without a valid header (the caller holds the lock)."""
        if os.fstat(fd).st_nlink == 0:
            raise SessionNotFound(f"session {name!r} was deleted (by another process?)")
        if loaded is not None and loaded.schema:
            if loaded.read_only:
                raise StoreError(f"cannot write {path}: {loaded.read_only}")
            return
        line = files.first_line(fd)
        if not line:
            raise StoreError(blank_message(path, name))
        header = parse_header(line, path)
        if header.schema > SCHEMA:
            raise StoreError(f"cannot write {path}: {newer_message(header.schema)}")

    # -- state ----------------------------------------------------------
    def current(self) -> str | None:
        """The last active session, if ``state.json`` names a valid session
        that is a regular file (never a FIFO or a symlink)."""
        name = self._named_current()
        if name is None:
            return None
        try:
            return name if stat.S_ISREG(os.lstat(self.path(name)).st_mode) else None
        except (BadSessionName, OSError):
            return None

    def _named_current(self) -> str | None:
        """The name ``state.json`` holds, whether or not it is a session."""
        return state.named_current(self.root)

    def set_current(self, name: str) -> None:
        state.set_current(self.root, name)

    def input_history_path(self) -> Path | None:
        """The shell's Up/Down history file (``input_history.py``); None if it
        cannot be used as a plain file (said once in ``warnings``)."""
        return input_history_path(self.root, self._warn_once)


def _read_back(fd: int, loaded: Loaded, path: Path) -> None:
    """Bring ``loaded`` up to date after a write that succeeded; if reading
    fails, the next ``refresh`` reads it (the write must not be reported as
    failed, or the caller would keep the records in memory a second time)."""
    with contextlib.suppress(OSError):
        read_new(fd, loaded, path)


def _is_loaded(fd: int, loaded: Loaded) -> bool:
    """Whether ``fd`` is the file ``loaded`` was read from (learning it if
    ``loaded`` does not know yet)."""
    st = os.fstat(fd)
    if not loaded.inode:
        loaded.inode, loaded.device = st.st_ino, st.st_dev
        return True
    if st.st_ino != loaded.inode or loaded.device not in (0, st.st_dev):
        return False
    # A freed inode number is soon given to a new file: the header tells them apart
    # (new headers carry a random file_id; older ones their creation time).
    return not loaded.head or os.pread(fd, len(loaded.head), 0) == loaded.head


def _same_file(path: Path, st: os.stat_result) -> bool:
    try:
        other = os.lstat(path)
    except OSError:
        return False
    return (other.st_ino, other.st_dev) == (st.st_ino, st.st_dev)
