"""``input_history``: the shell's Up/Down history, one file in the data dir,
created 0600 and never used through a symlink or as a FIFO."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from pathlib import Path

INPUT_HISTORY = "input_history"


def input_history_path(root: Path, warn: Callable[[str], None]) -> Path | None:
    """The file, created 0600; None if it cannot be used as a plain file (a
    FIFO, a symlink, a directory under that name: the shell then keeps its
    history in memory, and ``warn`` says so)."""
    path = root / INPUT_HISTORY
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_NOFOLLOW | os.O_NONBLOCK
        fd = os.open(path, flags, 0o600)
    except OSError:
        fd = -1
    if fd < 0:
        warn(f"{path} cannot be used; the input history is kept in memory only")
        return None
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    finally:
        os.close(fd)
    if not regular:
        warn(f"{path} is not a regular file; the input history is kept in memory only")
        return None
    return path
