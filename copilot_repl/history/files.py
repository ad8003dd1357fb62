"""Low-level file operations the store is built on, each safe against a
crash, a full disk, a short write, and a file that is not what it seems
(a symlink, a FIFO, a device).

Everything here raises ``OSError`` (the store turns it into one line) except
``NotRegular``, which already is one line.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import stat
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from copilot_repl.errors import SessionNotFound, StoreError

# Never follow a symlink, never block on a FIFO, never leak into a child process.
_SAFE = os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
CHUNK = 1 << 20


class NotRegular(StoreError):
    """A name that is a symlink, FIFO, device or directory, not a file."""


def open_regular(path: Path, flags: int) -> int:
    """Open ``path`` (never through a symlink) and return the fd; raises
    ``NotRegular`` if it is not a regular file, ``FileNotFoundError`` if absent."""
    try:
        fd = os.open(path, flags | _SAFE)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENXIO, errno.EISDIR):
            raise NotRegular(not_regular(path)) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise NotRegular(not_regular(path))
    return fd


def open_existing(path: Path, flags: int, *, missing: str, doing: str) -> int:
    """``open_regular``, with the two usual failures as one line each:
    ``SessionNotFound(missing)`` if it is gone, else "cannot DOING PATH: why"."""
    try:
        return open_regular(path, flags)
    except FileNotFoundError:
        raise SessionNotFound(missing) from None
    except OSError as exc:
        raise StoreError(f"cannot {doing} {path}: {why(exc)}") from None


def not_regular(path: Path) -> str:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = 0
    kind = (
        "a symbolic link"
        if stat.S_ISLNK(mode)
        else "a FIFO"
        if stat.S_ISFIFO(mode)
        else "a directory"
        if stat.S_ISDIR(mode)
        else "not a regular file"
    )
    return f"{path} is {kind}; copilot-repl does not open it (move it out of the way)"


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` or raise: ``os.write`` may write less than
    asked (a full disk, a file-size limit) and only the next call fails."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[written:]


def read_from(fd: int, offset: int, size: int) -> bytes:
    """Bytes ``offset`` .. ``size`` of the file (fewer if it shrank)."""
    chunks = []
    while offset < size:
        chunk = os.pread(fd, min(CHUNK, size - offset), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def line_blocks(fd: int, block: int) -> Iterator[bytes]:
    """The file open as ``fd`` read ``block`` bytes at a time, in pieces that
    each end at a line's end (the last: whatever follows the last newline),
    so a long file is never in memory whole and no line is split."""
    offset, left = 0, b""
    while chunk := os.pread(fd, block, offset):
        offset += len(chunk)
        data = left + chunk
        end = data.rfind(b"\n") + 1
        if end:
            yield data[:end]
        left = data[end:]
    if left:
        yield left


def read_small(path: Path, limit: int = 64 << 20) -> bytes:
    """A small state file's bytes (b"" if absent, unreadable or not a
    regular file), at most ``limit`` of them."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except (OSError, StoreError):
        return b""
    try:
        return read_from(fd, 0, min(os.fstat(fd).st_size, limit))
    except OSError:
        return b""
    finally:
        os.close(fd)


def first_line(fd: int, limit: int = 64 << 20) -> bytes:
    """The first line of the file without its newline (b"" if it has none)."""
    got = b""
    while len(got) < limit:
        chunk = os.pread(fd, 65536, len(got))
        if not chunk:
            return b""
        got += chunk
        end = got.find(b"\n")
        if end >= 0:
            return got[:end]
    return b""


def append_whole(fd: int, payload: bytes, *, keep: Path | None = None) -> None:
    """Write ``payload`` at the end of the open file (its caller holds the
    lock), whole or not at all: a last line a crash left open is closed first
    (the file copied to a backup beside ``keep`` before, if given); a write
    that fails part way is rolled back."""
    size = os.fstat(fd).st_size
    if torn(fd, size):
        if keep is not None:
            keep_copy(fd, keep)
        payload = b"\n" + payload
    try:
        write_all(fd, payload)
    except OSError:
        with contextlib.suppress(OSError):
            os.ftruncate(fd, size)  # roll back the part that was written
        raise


def torn(fd: int, size: int) -> bool:
    """Whether the file's last line is incomplete (no final newline)."""
    return size > 0 and os.pread(fd, 1, size - 1) != b"\n"


def temp_name(path: Path) -> Path:
    """A hidden name beside ``path`` (never a valid session name)."""
    return path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")


def tmp_owner(name: str) -> int | None:
    """The pid in a ``temp_name``, or None if ``name`` is not one."""
    parts = name.split(".")
    if (
        len(parts) >= 4
        and name.startswith(".")
        and parts[-1] == "tmp"
        and parts[-3].isascii()
        and parts[-3].isdigit()
    ):
        return int(parts[-3])
    return None


def create_new(
    path: Path,
    data: bytes | Iterable[bytes],
    *,
    replace_blank: bool = False,
    mtime: float | None = None,
) -> os.stat_result:
    """Create ``path`` holding ``data`` (bytes, or pieces of them written as
    they come: a long file is never in memory whole; modified at ``mtime``,
    if given), all at once: the data is written to a temp file first and
    linked into place, so ``path`` never exists half written. Raises
    ``FileExistsError`` if ``path`` exists (unless it is blank, see
    ``is_blank``, and ``replace_blank``). No temp file is left behind, even
    if producing the pieces raises."""
    tmp = temp_name(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _SAFE, 0o600)
    try:
        write_pieces(fd, data)
        if mtime is not None:
            os.utime(fd, (mtime, mtime))
        st = os.fstat(fd)
        os.close(fd)
        fd = -1
        try:
            os.link(tmp, path)
        except FileExistsError:
            if not (replace_blank and is_blank(path)):
                raise
            os.replace(tmp, path)
        return st
    finally:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def write_pieces(fd: int, data: bytes | Iterable[bytes]) -> None:
    """``write_all`` of ``data``, or of its pieces gathered into writes of
    about CHUNK bytes."""
    if isinstance(data, bytes):
        write_all(fd, data)
        return
    batch: list[bytes] = []
    size = 0
    for piece in data:
        batch.append(piece)
        size += len(piece)
        if size >= CHUNK:
            write_all(fd, b"".join(batch))
            batch, size = [], 0
    if batch:
        write_all(fd, b"".join(batch))


def is_blank(path: Path) -> bool:
    """A regular file with no complete line: what a crash between creating a
    session file and writing its header used to leave."""
    try:
        fd = open_regular(path, os.O_RDONLY)
    except (OSError, StoreError):
        return False
    try:
        size = os.fstat(fd).st_size
        return size < CHUNK and b"\n" not in os.pread(fd, size, 0)
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes | Iterable[bytes]) -> None:
    """Replace ``path`` with ``data`` (bytes, or pieces of them)
    atomically (temp file + rename); no temp file is left behind, whatever
    fails."""
    tmp = temp_name(path)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _SAFE, 0o600)
        try:
            write_pieces(fd, data)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_output(path: Path, text: str | Iterable[str], *, overwrite: bool) -> None:
    """Write a file the user named (an export, a report, results), mode 0600,
    never half: a new file is created whole (``FileExistsError`` if anything
    is at ``path`` and not ``overwrite``); an existing one is replaced whole
    (temp file, then rename). ``text`` may come in pieces, written as they
    come. Any other failure is a ``StoreError``. A lone surrogate (an old
    session's) is written as ``\\ud800``, never a ``UnicodeEncodeError``."""
    pieces = [text] if isinstance(text, str) else text
    data = (piece.encode("utf-8", "backslashreplace") for piece in pieces)
    try:
        if overwrite:
            write_atomic(path, data)
        else:
            create_new(path, data)
    except FileExistsError:
        raise
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None


def keep_copy(fd: int, path: Path) -> Path:
    """Copy the open file to ``PATH.SECONDS.bak`` (0600, a new file, never
    through a symlink) before it is repaired."""
    stamp = int(time.time())
    for i in range(1000):
        backup = path.with_name(f"{path.name}.{stamp}{f'.{i}' if i else ''}.bak")
        try:
            out = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _SAFE, 0o600)
            break
        except FileExistsError:
            continue
    else:
        raise OSError(errno.EEXIST, f"too many backups of {path}")
    try:
        offset, size = 0, os.fstat(fd).st_size
        while offset < size:
            chunk = read_from(fd, offset, min(size, offset + CHUNK))
            if not chunk:
                break
            write_all(out, chunk)
            offset += len(chunk)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(backup)
        raise
    finally:
        os.close(out)
    return backup


def rename_noreplace(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst`` in one step, failing with ``FileExistsError``
    if ``dst`` exists. Uses renameat2(RENAME_NOREPLACE) where the system has it
    (no moment with two names); elsewhere link then unlink, whose crash window
    ``Store`` repairs (a file under two names)."""
    if _renameat2(src, dst):
        return
    os.link(src, dst)
    os.unlink(src)


def _renameat2(src: Path, dst: Path) -> bool:
    """True if renamed; False if renameat2 is not available here."""
    try:
        import ctypes  # ctypes (~3 ms): only where the system call is needed

        libc = ctypes.CDLL(None, use_errno=True)
        call = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_noreplace_flag = -100, 1
    if call(at_fdcwd, os.fsencode(src), at_fdcwd, os.fsencode(dst), rename_noreplace_flag) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(src))


@contextmanager
def locked(fd: int, how: int) -> Iterator[None]:
    """An advisory ``flock`` held for the block (writers: LOCK_EX for a whole
    append; readers: LOCK_SH)."""
    fcntl.flock(fd, how)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


def why(exc: OSError) -> str:
    """What an OSError means for the user, in a few words."""
    if exc.errno == errno.ENOSPC:
        return "the disk is full"
    if exc.errno == errno.EFBIG:
        return "the file is larger than allowed (file size limit)"
    if exc.errno == errno.EDQUOT:
        return "the disk quota is exhausted"
    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "the data dir is read-only or not writable"
    return exc.strerror or str(exc)
