"""Child processes that must die with us (the llama.cpp server, the Copilot
CLI): their own process group (Ctrl-C in the terminal is for us), SIGKILL
when we die (PR_SET_PDEATHSIG), an atexit kill, and TERM-then-KILL on stop.

A child gets a minimal environment (``child_env``): what any program needs to
run and find its files (PATH, HOME, the locale, TMPDIR, XDG dirs, ...), what
its caller names for it, and what the caller sets explicitly; never the rest
of ours, where the user's API keys and tokens live."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import os
import signal
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 5.0
# What every child may see of our environment (COPILOT_REPL_HOME, not a
# secret, tells which copilot-repl data dir a child process belongs to).
BASE_ENV = frozenset(
    {
        "PATH", "HOME", "USER", "LOGNAME", "SHELL", "TERM", "TZ",
        "LANG", "LANGUAGE", "TMPDIR", "TEMP", "TMP", "COPILOT_REPL_HOME",
    }
)  # fmt: skip
BASE_ENV_PREFIXES = ("LC_", "XDG_")


@functools.cache
def _prctl() -> Callable[..., int] | None:
    """libc's prctl, looked up in the parent: the child, forked from a process
    with threads, must not take the dynamic loader's locks."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes  # ctypes (~3 ms): only where the system call is needed

        fn: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
        return fn
    except (OSError, AttributeError):
        return None


def _die_with(parent: int, prctl: Callable[..., int] | None) -> None:  # pragma: no cover
    """Runs in the child between fork and exec: SIGKILL me when ``parent`` dies,
    and exit now if it already has (it could die before prctl took effect)."""
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, sig)


def _kill_group(pid: int) -> None:
    _signal_group(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def exit_reason(returncode: int | None) -> str:
    """How a process ended, in words."""
    if returncode is None:
        return "is still running"
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return f"was killed by {name}"
    return f"exited with status {returncode}"


def child_env(
    source: Mapping[str, str],
    *,
    keep: Iterable[str] = (),
    keep_prefixes: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for a child: ``BASE_ENV`` and the ``keep`` names (and
    ``keep_prefixes``) taken from ``source``, then ``extra`` set as given."""
    names = BASE_ENV | frozenset(keep)
    prefixes = (*BASE_ENV_PREFIXES, *keep_prefixes)
    env = {k: v for k, v in source.items() if k in names or k.startswith(prefixes)}
    env.update(extra or {})
    return env


class Child:
    """One child process tied to our lifetime; ``stop`` is safe to call twice."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self._atexit: Callable[[], None] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def spawn(
        self,
        argv: Sequence[str],
        *,
        stdout: Any,
        stderr: Any,
        env: Mapping[str, str] | None = None,
    ) -> asyncio.subprocess.Process:
        """Start ``argv`` with exactly ``env`` (build it with ``child_env``);
        None: ``child_env(os.environ)``, never our whole environment."""
        self.proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=dict(env) if env is not None else child_env(os.environ),
            preexec_fn=functools.partial(_die_with, os.getpid(), _prctl()),
            process_group=0,  # Ctrl-C in the terminal is for us, not for it
        )
        self._atexit = functools.partial(_kill_group, self.proc.pid)
        atexit.register(self._atexit)
        return self.proc

    async def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM its process group, SIGKILL after ``timeout`` seconds."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                _signal_group(proc.pid, signal.SIGKILL)
                await proc.wait()
        if self._atexit is not None:
            atexit.unregister(self._atexit)  # its pid may be reused later
            self._atexit = None
