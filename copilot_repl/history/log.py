"""A session's event log in memory, in bounded space however long the file.

``Log`` holds the log's entries (messages and saved events) in order; its
newest entries, about ``TAIL_BYTES`` of their lines, are objects, and the
older ones are the offsets of their lines in the session file, read back (and
checked) when asked for. ``Messages`` is the messages among them: positions
in the log. Both are sequences (``len``, indexes, slices as views, iteration
streamed from the file), so what walks a whole history still sees all of it,
and what needs the newest part (a request, ``:history 20``) reads only that.

A log spills its older entries to offsets only once it has a ``Source``: an
fd of its own on the session file (the very file, whatever renames or
replaces it later; the file only grows, so a line once read never changes).
An entry that has no line of its own (a reply sealed from its parts, one
kept in memory after a failed write) stays an object wherever it is.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar, overload

from copilot_repl.errors import StoreError
from copilot_repl.history.compact import digest
from copilot_repl.history.messages import LoggedEvent, Message
from copilot_repl.history.records import Corrupt, parse

Entry = Message | LoggedEvent
T = TypeVar("T", Message, Entry)

TAIL_BYTES = 4 << 20  # lines kept as objects (about; at least the last entry)
CACHE = 4096  # older entries read back and kept (the last read), at most
CACHE_BYTES = 8 << 20  # and about this many bytes of them
READ_BEHIND = 64  # messages read with an older one asked for alone (the ones before it)
BLOCK = 1 << 20  # read-ahead when older entries are walked in order
DIGESTS = 8  # prefix digests a message list keeps (one per compaction it had, about)


class Source:
    """The session file as a log reads its older lines: an fd of its own,
    closed with the last log that uses it."""

    def __init__(self, fd: int, path: str, index: str = "") -> None:
        self.fd = os.dup(fd)
        self.path = path
        self.index = index  # the index sidecar the offsets came from, if any
        weakref.finalize(self, os.close, self.fd)

    def bad(self, offset: int, why: str) -> StoreError:
        """A line that is not what the offsets say: the index they came from
        is removed (the next open reads the file whole and writes a new one)."""
        if self.index:
            with contextlib.suppress(OSError):
                os.unlink(self.index)
        return StoreError(
            f"{self.path}: the record at byte {offset} is not the one indexed ({why}); "
            "open the session again"
        )

    def read(self, offset: int, size: int) -> bytes:
        return os.pread(self.fd, size, offset)

    def line(self, offset: int) -> bytes:
        """The line at ``offset``, without its newline."""
        got = b""
        while True:
            chunk = os.pread(self.fd, 1 << 16 if not got else len(got), offset + len(got))
            if not chunk:
                return got
            got += chunk
            end = got.find(b"\n", len(got) - len(chunk))
            if end >= 0:
                return got[:end]


def entry_at(source: Source, line: bytes, offset: int) -> Entry:
    """The entry saved on ``line`` (at ``offset``): never trusted blindly,
    it must be a message or an event record."""
    try:
        rec = parse(line)
    except Corrupt as exc:
        raise source.bad(offset, str(exc)) from None
    if not isinstance(rec, Message | LoggedEvent):
        raise source.bad(offset, "not a message or an event")
    return rec


class Log(Sequence[Entry]):
    """The entries: ``_offs`` (the older ones: their line's offset, or -1
    for one kept in ``_fixed``), then ``_tail`` (objects, with their line's
    offset and size in ``_tail_at``/``_tail_size``)."""

    def __init__(self, entries: Iterable[Entry] = ()) -> None:
        self._offs = array("q")
        self._fixed: dict[int, Entry] = {}
        self._tail: list[Entry] = []
        self._tail_at: list[int] = []
        self._tail_size: list[int] = []
        self._tail_bytes = 0
        self.source: Source | None = None
        self._cache: dict[int, Entry] = {}
        self._cache_bytes = 0
        for e in entries:
            self.add(e)

    # -- growing and cutting ----------------------------------------------
    def add(self, entry: Entry, at: int = -1, size: int = 0) -> None:
        """Append ``entry``, saved on the line at byte ``at`` (-1: none) of
        ``size`` bytes."""
        self._tail.append(entry)
        self._tail_at.append(at)
        size = size or _size(entry)
        self._tail_size.append(size)
        self._tail_bytes += size
        if self._tail_bytes > TAIL_BYTES and self.source is not None:
            self._spill()

    def append(self, entry: Entry) -> None:
        self.add(entry)

    def coming(self, fd: int, path: str, size: int) -> None:
        """``size`` bytes of the file open as ``fd`` are about to be read
        into it: a long log (read long, or grown long while open) keeps its
        older entries on disk from here on."""
        if self.source is None and self._tail_bytes + size > TAIL_BYTES:
            self.source = Source(fd, path)

    def _spill(self) -> None:
        """Turn the older half of the tail into offsets."""
        n, dropped = 0, 0
        while n < len(self._tail) - 1 and self._tail_bytes - dropped > TAIL_BYTES // 2:
            dropped += self._tail_size[n]
            n += 1
        base = len(self._offs)
        for i in range(n):
            at = self._tail_at[i]
            if at < 0:
                self._fixed[base + i] = self._tail[i]
            self._offs.append(at)
        del self._tail[:n], self._tail_at[:n], self._tail_size[:n]
        self._tail_bytes -= dropped

    def cut(self, keep: int) -> None:
        """Keep the first ``keep`` entries."""
        head = len(self._offs)
        if keep >= head:
            k = keep - head
            self._tail_bytes -= sum(self._tail_size[k:])
            del self._tail[k:], self._tail_at[k:], self._tail_size[k:]
            return
        del self._offs[keep:]
        self._fixed = {i: e for i, e in self._fixed.items() if i < keep}
        self._cache, self._cache_bytes = {}, 0
        self._tail, self._tail_at, self._tail_size, self._tail_bytes = [], [], [], 0

    def restore(self, offsets: array[int], fixed: dict[int, Entry], source: Source) -> None:
        """Start as the older entries ``offsets`` (from an index) in ``source``."""
        self._offs = offsets
        self._fixed = fixed
        self.source = source
        self._tail, self._tail_at, self._tail_size, self._tail_bytes = [], [], [], 0
        self._cache, self._cache_bytes = {}, 0

    def offsets(self) -> tuple[array[int], dict[int, Entry]]:
        """Every entry's line offset (-1: none, the entry in the dict), for an
        index."""
        offs = array("q", self._offs)
        fixed = dict(self._fixed)
        base = len(offs)
        for i, at in enumerate(self._tail_at):
            if at < 0:
                fixed[base + i] = self._tail[i]
            offs.append(at)
        return offs, fixed

    def offset(self, i: int) -> int:
        """The offset of entry ``i``'s line (-1: none)."""
        head = len(self._offs)
        return self._offs[i] if i < head else self._tail_at[i - head]

    @property
    def head(self) -> int:
        """How many entries are offsets (the older ones)."""
        return len(self._offs)

    # -- reading ----------------------------------------------------------
    def __len__(self) -> int:
        return len(self._offs) + len(self._tail)

    @overload
    def __getitem__(self, i: int) -> Entry: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Entry]: ...
    def __getitem__(self, i: int | slice) -> Entry | Sequence[Entry]:
        if isinstance(i, slice):
            return _view(self, i)
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("log index out of range")
        head = len(self._offs)
        if i >= head:
            return self._tail[i - head]
        return self._older(i)

    def _older(self, i: int) -> Entry:
        hit = self._fixed.get(i) or self._cache.get(i)
        if hit is not None:
            return hit
        source = self.source
        if source is None:  # pragma: no cover - offsets come with their source
            raise StoreError("an older entry of the log has no file to be read from")
        at = self._offs[i]
        entry = entry_at(source, source.line(at), at)
        self._keep(i, entry)
        return entry

    def cached(self, i: int) -> bool:
        """Whether entry ``i`` is at hand (no read needed)."""
        return i >= len(self._offs) or i in self._fixed or i in self._cache

    def fetch(self, wanted: Sequence[int]) -> None:
        """Read the entries at the increasing indexes ``wanted`` in blocks
        and keep them at hand (what is about to be asked for one by one)."""
        for i, entry in zip(wanted, self.pick(wanted), strict=False):
            # (one at hand already is not kept again: its bytes counted twice
            # would empty the cache, walked forward one index at a time)
            if i < len(self._offs) and i not in self._fixed and i not in self._cache:
                self._keep(i, entry)

    def _keep(self, i: int, entry: Entry) -> None:
        self._cache[i] = entry
        self._cache_bytes += _size(entry)
        while len(self._cache) > CACHE or self._cache_bytes > CACHE_BYTES:
            gone = self._cache.pop(next(iter(self._cache)))
            self._cache_bytes -= _size(gone)

    def __iter__(self) -> Iterator[Entry]:
        return self.iterate(0, len(self))

    def iterate(self, start: int, stop: int) -> Iterator[Entry]:
        """Entries ``start`` .. ``stop - 1``, the older ones read in blocks."""
        return self.pick(range(start, stop))

    def pick(self, wanted: Sequence[int]) -> Iterator[Entry]:
        """The entries at the increasing indexes ``wanted``, the older ones
        read in blocks of about BLOCK bytes (only their own lines parsed)."""
        head = len(self._offs)
        k = 0
        while k < len(wanted) and wanted[k] < head:
            hit = self._fixed.get(wanted[k]) or self._cache.get(wanted[k])
            if hit is not None:
                yield hit
                k += 1
                continue
            block = self._block(wanted, k, head)
            yield from block
            k += len(block)
        for i in wanted[k:]:
            if i - head >= len(self._tail):
                return  # cut meanwhile
            yield self._tail[i - head]

    def _block(self, wanted: Sequence[int], k: int, head: int) -> list[Entry]:
        """The older entries ``wanted[k:]`` that one read of about BLOCK
        bytes holds (at least one)."""
        offs, fixed, cache, source = self._offs, self._fixed, self._cache, self.source
        if wanted[k] in fixed or source is None:
            return [self._older(wanted[k])]
        first = offs[wanted[k]]
        j = k + 1
        while (
            j < len(wanted)
            and wanted[j] < head
            and wanted[j] not in fixed
            and wanted[j] not in cache
            and offs[wanted[j]] - first < BLOCK
        ):
            j += 1
        last = offs[wanted[j - 1]]
        data = source.read(first, last - first)
        out = []
        for n in range(k, j - 1):
            at = offs[wanted[n]]
            end = data.find(b"\n", at - first)
            out.append(entry_at(source, data[at - first : end], at))
        out.append(entry_at(source, source.line(last), last))
        return out

    def __eq__(self, other: object) -> bool:
        return _equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Log({len(self)} entries, {len(self._offs)} on disk)"


class Messages(Sequence[Message]):
    """The messages of a log, in order: their positions in it."""

    def __init__(self, log: Log) -> None:
        self.log = log
        self._pos = array("q")
        # n -> (the offset of message n's line, the digest of messages 1..n)
        self._digests: dict[int, tuple[int, str]] = {}

    def append(self, message: Message, at: int = -1, size: int = 0) -> None:
        self.log.add(message, at, size)
        self._pos.append(len(self.log) - 1)

    def extend(self, messages: Iterable[Message]) -> None:
        for m in messages:
            self.append(m)

    def cut(self, keep: int) -> None:
        """Keep the first ``keep`` messages; the log ends where the first
        message removed was."""
        if keep < len(self._pos):
            self.log.cut(self._pos[keep])
            del self._pos[keep:]

    def clear(self) -> None:
        self.cut(0)

    def __delitem__(self, i: slice) -> None:
        start, stop, step = i.indices(len(self))
        if step != 1 or stop != len(self):
            raise ValueError("only the newest messages can be removed")
        self.cut(start)

    def restore(self, positions: array[int]) -> None:
        self._pos = positions
        self._digests = {}

    def mark(self, n: int) -> int:
        """What tells messages 1..``n`` from any others this list holds later
        (after a cut and new ones): the offset of message ``n``'s line (a line
        read later is further on: the file only grows); -1 if it has none."""
        return self.log.offset(self._pos[n - 1]) if 0 < n <= len(self._pos) else -1

    def prefix_digest(self, n: int) -> str:
        """``compact.digest`` of messages 1..``n``, computed once while they
        stay the same ones (it is asked at each turn of a compacted session:
        a long one's would be read from disk each time)."""
        mark = self.mark(n)
        hit = self._digests.get(n)
        if hit is not None and mark >= 0 and hit[0] == mark:
            return hit[1]
        found = digest(self[:n])
        if mark >= 0:
            if len(self._digests) >= DIGESTS:
                self._digests.pop(next(iter(self._digests)))
            self._digests[n] = (mark, found)
        return found

    def positions(self) -> array[int]:
        return array("q", self._pos)

    def __len__(self) -> int:
        return len(self._pos)

    @overload
    def __getitem__(self, i: int) -> Message: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[Message]: ...
    def __getitem__(self, i: int | slice) -> Message | Sequence[Message]:
        if isinstance(i, slice):
            return _view(self, i)
        pos = self._pos[i]
        if not self.log.cached(pos):  # an older one: those before it are likely next
            if i < 0:
                i += len(self._pos)
            self.log.fetch(self._pos[max(0, i - READ_BEHIND + 1) : i + 1])
        entry = self.log[pos]
        if not isinstance(entry, Message):
            raise self._not_message(pos)
        return entry

    def _not_message(self, pos: int) -> StoreError:
        source = self.log.source
        if source is None:  # pragma: no cover - positions in memory are a message's
            return StoreError("the log's index does not match its messages")
        return source.bad(self.log.offset(pos), "an event where a message was indexed")

    def __iter__(self) -> Iterator[Message]:
        return self.iterate(0, len(self))

    def iterate(self, start: int, stop: int) -> Iterator[Message]:
        """Messages ``start`` .. ``stop - 1``, read in order."""
        wanted = self._pos[start:stop]
        for k, entry in enumerate(self.log.pick(wanted)):
            if not isinstance(entry, Message):
                raise self._not_message(wanted[k])
            yield entry

    def __eq__(self, other: object) -> bool:
        return _equal(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Messages({len(self)})"


class _View(Sequence[T]):
    """``seq[start:stop]`` without reading it: a window on a log or its
    messages (a list of its own once asked to be one)."""

    def __init__(self, seq: Log | Messages, start: int, stop: int) -> None:
        self._seq = seq
        self._start = start
        self._stop = stop

    def __len__(self) -> int:
        return max(0, self._stop - self._start)

    @overload
    def __getitem__(self, i: int) -> T: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[T]: ...
    def __getitem__(self, i: int | slice) -> T | Sequence[T]:
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step != 1:
                return list(self)[i]
            return _View(self._seq, self._start + start, self._start + max(start, stop))
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("index out of range")
        return self._seq[self._start + i]  # type: ignore[return-value]

    def __iter__(self) -> Iterator[T]:
        return self._seq.iterate(self._start, self._stop)  # type: ignore[return-value]

    def __eq__(self, other: object) -> bool:
        return _equal(self, other)

    __hash__ = None  # type: ignore[assignment]


def prefix_digest(messages: Sequence[Message], n: int) -> str:
    """``compact.digest(messages[:n])``: for a session's messages (or a
    window on them from the first), the one computed before while messages
    1..n stay the same (``Messages.prefix_digest``)."""
    base: Sequence[Message] = messages
    if isinstance(messages, _View) and messages._start == 0:
        base = messages._seq  # type: ignore[assignment]
    if isinstance(base, Messages) and n <= len(messages):
        return base.prefix_digest(n)
    return digest(messages[:n])


def _view(seq: Log | Messages, i: slice) -> Sequence[T]:
    start, stop, step = i.indices(len(seq))
    if step != 1:
        return list(seq)[i]  # type: ignore[return-value]
    return _View(seq, start, max(start, stop))


def _equal(seq: Sequence[object], other: object) -> bool:
    if not isinstance(other, Sequence) or isinstance(other, str | bytes):
        return False
    return len(seq) == len(other) and all(a == b for a, b in zip(seq, other, strict=True))


def _size(entry: Entry) -> int:
    """About the bytes an entry's line takes (one kept in memory only)."""
    if isinstance(entry, Message):
        return entry.size + 200
    return 200


def as_list(seq: Sequence[T]) -> list[T]:
    """A list of ``seq`` (the same list if it is one)."""
    return seq if isinstance(seq, list) else list(seq)


def frozen(messages: Sequence[Message]) -> Sequence[Message]:
    """``messages`` as they are now, whatever happens to them later (a cut,
    new ones): a list of them if they are in memory; for a long log, a copy
    of its offsets (8 bytes an entry), its entries read back from the file
    when asked for."""
    if not isinstance(messages, Messages) or messages.log.source is None:
        return list(messages)
    offsets, fixed = messages.log.offsets()
    log = Log()
    log.restore(offsets, fixed, messages.log.source)
    out = Messages(log)
    out.restore(messages.positions())
    return out
