"""Full-text search over every session: a SQLite FTS5 index derived from the
session files (``DATA_DIR/search.db``, 0600).

The JSON Lines files stay the truth. The index records, for each session
file, the size, mtime and inode it was built from; ``sync`` (run before each
query) brings up to date a file whose stat differs (a turn, a write by another
process, a rewrite), drops sessions whose file is gone, and rebuilds the
whole index when it is missing, of another version or corrupt. Each session
is indexed as ``Store.load`` sees it: message ``n`` (1-based) is the n-th of
its history. Nothing is indexed during a turn: the cost is paid by the next
query, one session at a time.

A change that only added messages is indexed incrementally: only the new
messages are written. It is one when the file is the same one (inode and
header), no message was taken away since (``Loaded.generation`` minus the
message count, which grows with every truncation and never otherwise), the
session's model is the same (a message without its own is indexed with it),
there are at least as many messages, and the last message indexed is still
the same (its digest). Anything else (``:clear``, ``:retry``, a rewrite, an
import over it) re-indexes the whole session. Each sync of a batch of
sessions is one transaction: a sync killed half-way leaves the index as it
was, and the next one does the work again.

Ranking is FTS5's bm25; a prompt scores ``PROMPT_BOOST`` times a reply with
the same match, so prompts rank above replies for equal matches (the role is
the low bit of the rowid, so ranking reads no stored column). A query that
matches more than ``RANK_WINDOW`` messages ranks the most recently indexed
ones (sessions written lately are re-indexed last).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import sqlite3
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from copilot_repl.errors import SessionNotFound, StoreError, UsageError
from copilot_repl.history.files import why
from copilot_repl.history.messages import Message
from copilot_repl.history.reader import Loaded
from copilot_repl.history.store import SUFFIX, Store

INDEX_FILE = "search.db"
VERSION = 6  # PRAGMA user_version: another value means rebuild
PROMPT_BOOST = 1.5
MARK_START, MARK_END = "\x02", "\x03"  # around each match in Hit.snippet
RANK_WINDOW = 5000  # a query matching more ranks the most recently indexed ones
SNIPPET_TOKENS = 16
BATCH = 50  # sessions per write transaction while (re)building
MAX_SPANS = 16  # a session's rowid ranges; beyond, it is re-indexed whole (one range)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files(
    name TEXT PRIMARY KEY, size INT, mtime_ns INT, ino INT, messages INT,
    cuts INT, model TEXT, head TEXT, last TEXT
);
CREATE TABLE IF NOT EXISTS spans(name TEXT, lo INT, hi INT, PRIMARY KEY(name, lo));
CREATE VIRTUAL TABLE IF NOT EXISTS msgs USING fts5(
    content, session UNINDEXED, n UNINDEXED, ts UNINDEXED, model UNINDEXED,
    tokenize = 'unicode61 remove_diacritics 2'
);
"""


@dataclass(frozen=True)
class Hit:
    """One matching message."""

    session: str
    n: int  # 1-based message number in the session's history
    role: str
    ts: float
    model: str
    snippet: str  # matches between MARK_START and MARK_END
    score: float  # lower is better

    def parts(self) -> list[tuple[str, bool]]:
        """The snippet as (text, is_match) pieces, for highlighting."""
        out: list[tuple[str, bool]] = []
        for i, piece in enumerate(re.split(f"[{MARK_START}{MARK_END}]", self.snippet)):
            if piece:
                out.append((piece, i % 2 == 1))
        return out


@dataclass(frozen=True)
class SyncReport:
    indexed: int = 0  # sessions (re)indexed
    rows: int = 0  # messages written
    full: int = 0  # sessions indexed whole (new, or changed other than by appending)
    removed: int = 0  # sessions dropped
    rebuilt: str = ""  # why the whole index was rebuilt (outdated, corrupt), or ""


_Stat = tuple[int, int, int]


@dataclass(frozen=True)
class _Filters:
    session: str | None
    model: str | None
    role: str | None
    since: float | None


_T = TypeVar("_T")


class SearchIndex:
    """The search index of one data dir. Open it, ``search`` (which syncs
    first), ``close``. Safe to use from several processes at once."""

    def __init__(self, store: Store, path: Path | None = None) -> None:
        self.store = store
        self.path = Path(path) if path else store.root / INDEX_FILE
        self._db: sqlite3.Connection | None = None
        self.rebuilt_because = ""  # why the last rebuild happened ("" if none)

    # -- opening ----------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = self._open()
        return self._db

    def _open(self) -> sqlite3.Connection:
        self.store.ensure()
        if not _writable(self.path):  # a read-only data dir: an index for this process only
            db = sqlite3.connect(":memory:", isolation_level=None)
            _create(db)
            return db
        with contextlib.suppress(FileExistsError):
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            db.execute("PRAGMA secure_delete = ON")  # purged text is overwritten, not left
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version == VERSION:
                return db
            if version != 0:  # another layout: start again from the files
                db.close()
                _remove_db(self.path)
                self.rebuilt_because = f"index version {version}, not {VERSION}"
                return self._open()
            db.execute("BEGIN IMMEDIATE")
            if db.execute("PRAGMA user_version").fetchone()[0] != VERSION:
                _create(db)
            db.execute("COMMIT")
        except BaseException:
            db.close()
            raise
        return db

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- keeping in step --------------------------------------------------
    def sync(self) -> SyncReport:
        """Bring the index in step with the session files."""
        return self._guarded(self._sync)

    def _sync(self) -> SyncReport:
        db = self._conn()
        on_disk = _scan(self.store.sessions_dir)
        known = _known(db)
        if on_disk == known:
            return SyncReport()
        indexed = removed = rows = full = 0
        todo = sorted(on_disk)
        for start in range(0, max(len(todo), 1), BATCH):
            batch = todo[start : start + BATCH]
            db.execute("BEGIN IMMEDIATE")
            try:
                known = _known(db)  # another process may have done part of it
                if start == 0:
                    for name in set(known) - set(on_disk):
                        self._drop(db, name)
                        removed += 1
                for name in batch:
                    if known.get(name) != on_disk[name]:
                        written, whole = self._index(db, name)
                        indexed, rows, full = indexed + 1, rows + written, full + whole
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
        report = SyncReport(indexed, rows, full, removed, self.rebuilt_because)
        self.rebuilt_because = ""
        return report

    def _index(self, db: sqlite3.Connection, name: str) -> tuple[int, bool]:
        """Bring one session up to date: the messages added since it was
        indexed, or all of them when it changed otherwise. The number of
        messages written and whether it was indexed whole. The stat is taken
        before reading, so a write meanwhile leaves it stale and the next sync
        reads the file again."""
        try:
            st = self.store.path(name).stat()
            loaded = self.store.load(name)
        except (SessionNotFound, FileNotFoundError):
            self._drop(db, name)
            return 0, True
        except (OSError, StoreError):
            self._drop(db, name)
            return 0, True  # unreadable now: tried again at the next sync (no row in files)
        messages = loaded.data.messages
        count = len(messages)
        cuts = loaded.generation - count  # grows with each truncation, never otherwise
        model = loaded.data.model
        head = hashlib.sha256(loaded.head).hexdigest()
        spans = _spans(db, name)
        start = self._appended(db, name, st, loaded, (cuts, model, head), len(spans))
        if start is None:
            self._drop(db, name)
            start, spans = 0, []
        top = db.execute("SELECT max(rowid) FROM msgs").fetchone()[0] or 0
        span: list[int] = []  # the first and last rowid written, how many
        rows = (
            ((top // 2 + i) * 2 + (m.role == "user"), _text(m), name, n, m.ts, m.model or model)
            for i, (n, m) in enumerate(enumerate(messages.iterate(start, count), start + 1), 1)
            if m.content or m.tools
        )
        # streamed: a long session's messages are read from disk as they go in
        db.executemany(
            "INSERT INTO msgs(rowid, content, session, n, ts, model) VALUES (?, ?, ?, ?, ?, ?)",
            (_note_rowid(row, span) for row in rows),
        )
        if span:
            lo, hi = span[0], span[1]
            if spans and spans[-1][1] == top:  # its rows were the newest: one range still
                db.execute(
                    "UPDATE spans SET hi = ? WHERE name = ? AND lo = ?", (hi, name, spans[-1][0])
                )
            else:
                db.execute("INSERT INTO spans VALUES (?, ?, ?)", (name, lo, hi))
        last = _digest(messages[count - 1]) if count else ""
        db.execute(
            "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (name, st.st_size, st.st_mtime_ns, st.st_ino, count, cuts, model, head, last),
        )
        return (span[2] if span else 0), start == 0

    @staticmethod
    def _appended(
        db: sqlite3.Connection,
        name: str,
        st: os.stat_result,
        loaded: Loaded,
        now: tuple[int, str, str],
        spans: int,
    ) -> int | None:
        """How many messages of the session are indexed already, if it only
        grew since (None: it must be indexed whole)."""
        row = db.execute(
            "SELECT size, ino, messages, cuts, model, head, last FROM files WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None or spans >= MAX_SPANS:
            return None
        size, ino, count, cuts, model, head, last = row
        messages = loaded.data.messages
        if (
            (int(ino), int(cuts), str(model), str(head)) != (st.st_ino, *now)
            or st.st_size < int(size)
            or not 0 <= int(count) <= len(messages)
        ):
            return None
        if count and _digest(messages[int(count) - 1]) != last:
            return None
        return int(count)

    @staticmethod
    def _drop(db: sqlite3.Connection, name: str) -> None:
        """Remove a session's rows: they are a few rowid ranges (``spans``),
        which FTS5 deletes without scanning the table."""
        for span in _spans(db, name):
            db.execute("DELETE FROM msgs WHERE rowid BETWEEN ? AND ?", span)
        db.execute("DELETE FROM spans WHERE name = ?", (name,))
        db.execute("DELETE FROM files WHERE name = ?", (name,))

    def forget(self, name: str) -> None:
        """Remove a session's text from the index for good (purge): the rows
        are deleted with secure_delete (freed pages are zeroed) and the FTS
        segments merged, so the text does not linger in free pages of the file."""

        def run() -> None:
            db = self._conn()
            db.execute("BEGIN IMMEDIATE")
            try:
                self._drop(db, name)
                db.execute("INSERT INTO msgs(msgs) VALUES ('optimize')")
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise

        self._guarded(run)

    # -- searching --------------------------------------------------------
    def search(
        self,
        query: str,
        *,
        session: str | None = None,
        model: str | None = None,
        role: str | None = None,
        since: float | None = None,
        limit: int = 20,
    ) -> list[Hit]:
        """The best ``limit`` messages matching ``query`` (words, all required;
        ``"a phrase"``; ``word*`` for a prefix), best first."""
        match = fts_query(query)
        if role not in (None, "user", "assistant"):
            raise UsageError(f"--role is user or assistant, not {role!r}")
        filters = _Filters(session, model, role, since)
        limit = min(max(1, limit), RANK_WINDOW)  # a huge --limit: as many as are ranked
        return self._guarded(lambda: self._search(match, filters, limit))

    def _search(self, match: str, f: _Filters, limit: int) -> list[Hit]:
        self._sync()
        db = self._conn()
        match = _PREFIX.sub(lambda m: _expand(db, m), match)
        where: list[str] = []
        params: list[object] = []
        if f.role is not None:
            where.append(f"(rowid & 1) = {int(f.role == 'user')}")  # the role is the low bit
        if f.session is not None:
            spans = _spans(db, f.session)
            if not spans:
                return []
            # a session's rows are a few ranges (mostly one): FTS5 uses the outer one
            where.append("rowid BETWEEN ? AND ?")
            params += [spans[0][0], spans[-1][1]]
            if len(spans) > 1:
                where.append("(" + " OR ".join(["rowid BETWEEN ? AND ?"] * len(spans)) + ")")
                params += [bound for span in spans for bound in span]
        if f.model is not None:
            where.append("(model = ? OR model LIKE ? ESCAPE '\\')")
            params += [f.model, "%:" + re.sub(r"([%_\\])", r"\\\1", f.model)]
        if f.since is not None:
            where.append("ts >= ?")
            params.append(f.since)
        cond = " AND ".join(["msgs MATCH ?", *where])
        args = [match, *params]
        # Rank only the RANK_WINDOW most recently indexed matches: bm25 costs
        # about a microsecond a row, and a word found in every message has no
        # meaningful rank anyway.
        cut = db.execute(
            f"SELECT rowid FROM msgs WHERE {cond} ORDER BY rowid DESC LIMIT 1 OFFSET ?",
            [*args, RANK_WINDOW - 1],
        ).fetchone()
        if cut is not None:
            cond += f" AND rowid >= {int(cut[0])}"
        top = db.execute(
            f"SELECT rowid, bm25(msgs) * (CASE rowid & 1 WHEN 1 THEN {PROMPT_BOOST} ELSE 1.0 END)"
            f" AS score FROM msgs WHERE {cond} ORDER BY score, rowid DESC LIMIT ?",
            [*args, limit],
        ).fetchall()
        if not top:
            return []
        score = {int(r[0]): float(r[1]) for r in top}
        rows = db.execute(
            "SELECT rowid, session, n, ts, model, "
            f"snippet(msgs, 0, '{MARK_START}', '{MARK_END}', '…', {SNIPPET_TOKENS}) "
            f"FROM msgs WHERE msgs MATCH ? AND rowid IN ({','.join(map(str, score))})",
            [match],
        ).fetchall()
        hits = [
            Hit(
                session=r[1],
                n=int(r[2]),
                role="user" if r[0] & 1 else "assistant",
                ts=float(r[3]),
                model=r[4],
                snippet=r[5],
                score=score[int(r[0])],
            )
            for r in rows
        ]
        hits.sort(key=lambda h: h.score)
        return hits

    # -- faults -----------------------------------------------------------
    def _guarded(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn``; if the index turns out corrupt, rebuild it and run again."""
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if _busy(exc):
                raise StoreError(f"the search index {self.path} is busy; try again") from None
            why = str(exc)
        except sqlite3.DatabaseError as exc:
            why = str(exc)
        self.close()
        _remove_db(self.path)
        self.rebuilt_because = f"index unreadable ({why})"
        try:
            return fn()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot use the search index {self.path}: {exc}") from None


def _create(db: sqlite3.Connection) -> None:
    for stmt in _SCHEMA.split(";"):
        if stmt.strip():
            db.execute(stmt)
    db.execute(f"PRAGMA user_version = {VERSION}")


def _writable(path: Path) -> bool:
    """Whether the index file can be created or written (not on a read-only
    mount, not in a directory this user cannot write)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return os.access(path.parent, os.W_OK)
    except OSError:
        return True  # opening it says what is wrong
    if not os.access(path.parent, os.W_OK):
        return False
    return not stat.S_ISREG(st.st_mode) or os.access(path, os.W_OK)


def _text(m: Message) -> str:
    """What is searched of a message: its text, then its tool calls and results."""
    if not m.tools:
        return m.content
    lines = [m.content] if m.content else []
    for round_ in m.tools:
        for call in round_.get("calls") or []:
            function = call.get("function") or {}
            lines.append(f"⚙ {function.get('name', '')} {function.get('arguments', '')}")
        lines += [str(r.get("content", "")) for r in round_.get("results") or []]
    return "\n".join(lines)


def forget_session_text(store: Store, name: str) -> None:
    """Take a purged session's text out of the index, if there is one."""
    if (store.root / INDEX_FILE).is_file():  # a directory there holds no text
        with SearchIndex(store) as index:
            index.forget(name)


def fts_query(text: str) -> str:
    """The user's query as an FTS5 expression: each word (or ``"phrase"``)
    quoted, so punctuation in the query never is FTS5 syntax; a trailing
    ``*`` keeps prefix search; ``OR`` between two terms is kept."""
    terms: list[str] = []
    text = _CONTROL.sub(" ", text)  # a NUL ends an SQLite string early
    for phrase, word in re.findall(r'"([^"]*)"?|(\S+)', text):
        if phrase.strip():
            terms.append(_quote(phrase))
        elif word == "OR" and terms and terms[-1] != "OR":
            terms.append("OR")
        elif word:
            star = word.endswith("*") and bool(_WORD.search(word[:-1]))
            body = word[:-1] if star else word
            if _WORD.search(body):
                body = body.lower() if star and body.isascii() else body
                terms.append(_quote(body) + ("*" if star else ""))
    while terms and terms[-1] == "OR":
        terms.pop()
    if not terms:
        raise UsageError('nothing to search for: give a word or a "phrase"')
    return " ".join(terms)


_WORD = re.compile(r"\w")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _quote(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def _scan(sessions_dir: Path) -> dict[str, _Stat]:
    out: dict[str, _Stat] = {}
    try:
        entries: Iterator[os.DirEntry[str]] = os.scandir(sessions_dir)
    except OSError:
        return out
    with entries as it:  # type: ignore[attr-defined]
        for entry in it:
            if not entry.name.endswith(SUFFIX) or entry.name.startswith("."):
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            out[entry.name[: -len(SUFFIX)]] = (st.st_size, st.st_mtime_ns, st.st_ino)
    return out


def _known(db: sqlite3.Connection) -> dict[str, _Stat]:
    rows = db.execute("SELECT name, size, mtime_ns, ino FROM files").fetchall()
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in rows}


_PREFIX = re.compile(r'"([a-z0-9]+)"\*')
MAX_EXPANSION = 64


def _expand(db: sqlite3.Connection, m: re.Match[str]) -> str:
    """``"pars"*`` as ``("parse" OR "parser")``, the words of the index that
    start with it: much faster than FTS5's own prefix search without a prefix
    index (which would double the index). Left as it is when there are many."""
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.vocab USING fts5vocab(main, msgs, 'row')")
    start = m.group(1)
    end = start[:-1] + chr(ord(start[-1]) + 1)
    terms = db.execute(
        "SELECT term FROM temp.vocab WHERE term >= ? AND term < ? LIMIT ?",
        (start, end, MAX_EXPANSION + 1),
    ).fetchall()
    if not terms:
        return f'"{start}"'  # matches nothing, as the prefix would
    if len(terms) > MAX_EXPANSION:
        return m.group(0)
    return "(" + " OR ".join(f'"{t[0]}"' for t in terms) + ")"


def _spans(db: sqlite3.Connection, name: str) -> list[tuple[int, int]]:
    rows = db.execute("SELECT lo, hi FROM spans WHERE name = ? ORDER BY lo", (name,)).fetchall()
    return [(int(r[0]), int(r[1])) for r in rows]


def _digest(m: Message) -> str:
    """What tells a message indexed from another put in its place."""
    text = "\x00".join((m.role, m.id, m.status, _text(m)))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def _remove_db(path: Path) -> None:
    """Remove the index and its journals, to rebuild it. A name that is a
    directory (or cannot be removed) is never taken away: one line says so."""
    for p in (path, Path(f"{path}-journal"), Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        except IsADirectoryError:
            raise StoreError(
                f"the search index {p} is a directory; copilot-repl does not remove it "
                "(move it out of the way and :find builds the index again)"
            ) from None
        except OSError as exc:
            raise StoreError(
                f"cannot rebuild the search index: cannot remove {p}: {why(exc)}"
            ) from None


def since_ago(text: str, now: float | None = None) -> float:
    """``--since`` as a timestamp: ``30m``, ``12h``, ``7d``, ``2w``, or a date
    ``YYYY-MM-DD``."""
    now = time.time() if now is None else now
    m = re.fullmatch(r"(\d+)\s*([mhdw])", text.strip())
    if m:
        unit = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}[m.group(2)]
        return now - int(m.group(1)) * unit
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").timestamp()
    except ValueError:
        raise UsageError(
            f"--since takes 30m, 12h, 7d, 2w or a date YYYY-MM-DD, not {text!r}"
        ) from None


def _note_rowid(row: tuple[Any, ...], span: list[int]) -> tuple[Any, ...]:
    """``row`` as it is inserted; ``span`` keeps the first rowid, the last,
    and how many rows."""
    if not span:
        span += [row[0], row[0], 1]
    else:
        span[1] = row[0]
        span[2] += 1
    return row
