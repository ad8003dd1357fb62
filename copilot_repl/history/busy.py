"""Which sessions have a turn in flight, in any process.

A turn holds an exclusive ``flock`` on ``DATA_DIR/locks/NAME.lock`` (0600,
its dir 0700) from before its prompt is saved until its reply's last record
is, waiting for its first token included; the kernel lets go of it when the
process ends, ``kill -9`` too. What must not run under a turn (a purge that
rewrites the session file, a move to the trash, a turn of another process on
the same session) takes the same lock: held means a turn is in flight.

A lock file that cannot be made (a read-only data dir, where nothing can be
written anyway) locks nothing. The files stay (one small file per session
name): removing one while another process opens it would let two holders in.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from copilot_repl.errors import UsageError
from copilot_repl.history.names import validate_name

LOCKS = "locks"
NO_LOCK = -1  # a lock file that cannot be made: nothing to hold


def lock_path(root: Path, name: str) -> Path:
    return Path(root) / LOCKS / f"{validate_name(name)}.lock"


def try_hold(root: Path, name: str) -> int | None:
    """The session's lock, taken: an fd to give to ``release`` (``NO_LOCK``
    when no lock file can be made); None if a turn holds it."""
    return try_lock(lock_path(root, name))


@contextmanager
def owned(path: Path, refusal: str) -> Iterator[None]:
    """Hold the lock file ``path`` for the block (another holder:
    ``UsageError(refusal)``); e.g. a comparison's journal, owned by the one
    process that runs it."""
    fd = try_lock(path)
    if fd is None:
        raise UsageError(refusal)
    try:
        yield
    finally:
        release(fd)


def try_lock(path: Path) -> int | None:
    """``path`` (created 0600, its dir 0700) locked exclusively: its fd,
    ``NO_LOCK`` if it cannot be made, None if another holds it."""
    flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        with contextlib.suppress(FileExistsError):
            os.mkdir(path.parent, 0o700)
            os.chmod(path.parent, 0o700)  # ours: exactly 0700, whatever the umask
        fd = os.open(path, flags, 0o600)
    except OSError:
        return NO_LOCK
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    except OSError:
        os.close(fd)
        return NO_LOCK
    return fd


def release(fd: int) -> None:
    if fd != NO_LOCK:
        os.close(fd)  # closing the only descriptor lets go of the lock


def in_flight(root: Path, name: str) -> bool:
    """Whether a turn of ``name`` is in flight now (in any process)."""
    fd = try_hold(root, name)
    if fd is None:
        return True
    release(fd)
    return False


def refusal(name: str, doing: str) -> str:
    return f"{name} is answering a prompt (here or in another process); {doing} when it is done"


@contextmanager
def no_turn(root: Path, name: str, doing: str) -> Iterator[None]:
    """Hold ``name``'s lock for the block (no turn starts meanwhile);
    ``UsageError`` naming ``doing`` if a turn is in flight."""
    fd = try_hold(root, name)
    if fd is None:
        raise UsageError(refusal(name, doing))
    try:
        yield
    finally:
        release(fd)
