"""Append-only JSON Lines files (votes, compare journals): one JSON object a
line, each appended whole under an exclusive ``flock`` (every byte or none; a
last line a crash left open is closed first), the file created 0600 and never
opened through a symlink. Reading never raises for a bad line: it is skipped
and said."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from copilot_repl.errors import StoreError
from copilot_repl.history import files
from copilot_repl.history.files import why
from copilot_repl.history.records import dumps


def append_record(path: Path, record: Mapping[str, Any]) -> None:
    """Append one JSON line to ``path`` (created 0600, its directory 0700),
    whole under an exclusive ``flock`` or not at all (``StoreError``)."""
    payload = dumps(dict(record))  # a lone surrogate escaped, never a UnicodeEncodeError
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = _open_append(path)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {why(exc)}") from None
    try:
        with files.locked(fd, fcntl.LOCK_EX):
            files.append_whole(fd, payload)
    except OSError as exc:
        raise StoreError(f"cannot write {path}: {why(exc)}") from None
    finally:
        os.close(fd)


def _open_append(path: Path) -> int:
    """``path`` opened to append, created 0600 if missing (never through a
    symlink: ``NotRegular``)."""
    flags = os.O_RDWR | os.O_APPEND
    try:
        return files.open_regular(path, flags)
    except FileNotFoundError:
        pass
    with contextlib.suppress(FileExistsError):
        safe = os.O_NOFOLLOW | os.O_CLOEXEC | os.O_CREAT | os.O_EXCL
        os.close(os.open(path, flags | safe, 0o600))
    return files.open_regular(path, flags)


def read_records(path: Path, warnings: list[str]) -> list[tuple[int, Any]]:
    """``(line number, parsed JSON)`` for each line of ``path`` (none if it is
    missing), read under a shared lock; a line that is not JSON is skipped and
    said in ``warnings``."""
    try:
        fd = files.open_regular(path, os.O_RDONLY)
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {why(exc)}") from None
    try:
        with files.locked(fd, fcntl.LOCK_SH):
            data = files.read_from(fd, 0, os.fstat(fd).st_size)
    except OSError as exc:
        raise StoreError(f"cannot read {path}: {why(exc)}") from None
    finally:
        os.close(fd)
    out: list[tuple[int, Any]] = []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            out.append((number, json.loads(raw)))
        except RecursionError:
            warnings.append(f"{path} line {number} skipped: nested too deeply")
        except ValueError as exc:  # JSON or UTF-8
            last = number == len(lines)  # no newline after it: cut by a crash
            what = "an unfinished record" if last else f"not JSON ({exc})"
            warnings.append(f"{path} line {number} skipped: {what}")
    return out
