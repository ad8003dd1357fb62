"""Who is writing a streaming reply, and whether that process still lives.

A reply id is ``PID-TOKEN-N``: N counts this process's replies; TOKEN is
``RANDOM.START.BOOT`` where START is the writer's start time (field 22 of
``/proc/PID/stat``, clock ticks since boot) and BOOT the first 8 characters of
the kernel's boot id. A process is the writer only if its pid, start time and
boot all match: a zombie, a pid reused by another process, or a pid from
before a reboot is not. Older ids (``PID-RANDOM-N``, no start time) are
checked by pid alone, minus zombies. Without ``/proc`` the pid alone is used.
"""

from __future__ import annotations

import os
from pathlib import Path

_PROC = Path("/proc")


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time) of ``pid`` from /proc, or None if none."""
    try:
        raw = (_PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()  # the name in (...) may hold spaces
    try:
        return fields[0].decode("ascii", "replace"), int(fields[19])
    except (IndexError, ValueError):
        return None


def _boot_id() -> str:
    try:
        return (_PROC / "sys/kernel/random/boot_id").read_text().replace("-", "")[:8]
    except OSError:
        return ""


def _own_token() -> str:
    rand = os.urandom(4).hex()
    me = proc_stat(os.getpid())
    if me is None:
        return f"{os.getpid()}-{rand}"
    return f"{os.getpid()}-{rand}.{me[1]}.{BOOT}"


BOOT = _boot_id()
HAVE_PROC = proc_stat(os.getpid()) is not None
# Identifies this process among every other that had or will have its pid.
PROCESS_TOKEN = _own_token()


def writer_alive(rid: str) -> bool:
    """Whether the process that wrote reply ``rid`` is still running."""
    fields = rid.split("-")
    if not _digits(fields[0]) or len(fields[0]) > 19:  # no pid has more digits
        return False
    pid = int(fields[0])
    if pid == os.getpid():
        return rid.startswith(PROCESS_TOKEN + "-")
    start, boot = _start_and_boot(fields[1] if len(fields) >= 3 else "")
    if boot and BOOT and boot != BOOT:
        return False
    if not HAVE_PROC:
        return pid_exists(pid)
    found = proc_stat(pid)
    if found is None or found[0] in ("Z", "X", "x"):
        return False
    return start is None or found[1] == start


def _start_and_boot(token: str) -> tuple[int | None, str]:
    parts = token.split(".")
    if len(parts) == 3 and _digits(parts[1]):
        return int(parts[1]), parts[2]
    return None, ""


def _digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts "²", which int() refuses)."""
    return text.isascii() and text.isdigit()


def pid_exists(pid: int) -> bool:
    """Whether a process ``pid`` exists (signal 0: one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    return True
