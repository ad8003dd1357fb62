"""Finding, starting and stopping the ``copilot`` CLI process."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import importlib
import logging
import os
import platform
import re
import secrets
import shutil
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..config import ProviderConfig
from ..errors import ProviderError
from .local import _die_with, _kill_quietly, _prctl

CLI_HINT = (
    "install it with `make copilot-cli` (or `npm install -g @github/copilot`), "
    "or set cli_path in [providers.copilot] or COPILOT_CLI_PATH"
)
SDK_DIST = "github-copilot-sdk"
SDK_HINT = "install the copilot extra: pip install 'copilot-repl[copilot]'"
START_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
TAIL_LINES = 20
_PORT_RE = re.compile(rb"listening on port (\d+)", re.I)


class CopilotError(ProviderError):
    """The Copilot CLI or SDK failed, or reported an error for a turn."""


# -- finding the CLI --------------------------------------------------------
def cache_dirs(env: Mapping[str, str]) -> list[Path]:
    """Where ``make copilot-cli`` installs the CLI (npm ``--prefix``)."""
    xdg = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    dirs = [Path(xdg) / "copilot-repl" / "copilot-cli"]
    with contextlib.suppress(ImportError):
        import platformdirs

        dirs.append(Path(platformdirs.user_cache_dir("copilot-repl")) / "copilot-cli")
    return list(dict.fromkeys(dirs))


def _platform_names() -> list[str]:
    machine = platform.machine().lower()
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(machine, machine)
    system = sys.platform if sys.platform != "win32" else "win32"
    names = [f"copilot-{system}-{arch}"]
    if system == "linux":
        names.append(f"copilot-linuxmusl-{arch}")
    return names


def native_binary(scope: Path) -> Path | None:
    """The platform binary inside an ``@github`` node_modules scope."""
    for name in _platform_names():
        path = scope / name / ("copilot.exe" if sys.platform == "win32" else "copilot")
        if path.is_file() and os.access(path, os.X_OK):
            return path
    return None


def resolve_cli(path: Path) -> Path:
    """Prefer the native binary to npm's loader script: the loader runs it as
    a child that would not die with us."""
    real = path.resolve()
    if real.name == "npm-loader.js":
        return native_binary(real.parent.parent) or path
    return path


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def find_cli(config: ProviderConfig, env: Mapping[str, str]) -> Path:
    """config ``cli_path``, then ``COPILOT_CLI_PATH``, then ``copilot`` on PATH,
    then the ``make copilot-cli`` copy."""
    given = (
        (config.cli_path, f"cli_path (in [providers.{config.name}])"),
        (env.get("COPILOT_CLI_PATH", ""), "COPILOT_CLI_PATH"),
    )
    for value, where in given:
        if not value:
            continue
        path = Path(value).expanduser()
        if not _executable(path):
            raise CopilotError(
                f"the Copilot CLI at {path} ({where}) is not an executable file; {CLI_HINT}"
            )
        return resolve_cli(path)
    found = shutil.which("copilot", path=env.get("PATH", os.defpath))
    if found:
        return resolve_cli(Path(found))
    for cache in cache_dirs(env):
        binary = native_binary(cache / "node_modules" / "@github")
        if binary is not None:
            return binary
    raise CopilotError(f"the Copilot CLI (`copilot`) was not found; {CLI_HINT}")


def _check_sdk() -> None:
    from importlib import metadata

    try:
        metadata.distribution(SDK_DIST)
    except metadata.PackageNotFoundError:
        raise CopilotError(f"the GitHub Copilot SDK is not installed; {SDK_HINT}") from None


def import_sdk() -> Any:
    """The ``copilot`` package of github-copilot-sdk (slow: about 2-3 s)."""
    _check_sdk()
    sdk = importlib.import_module("copilot")
    quiet = logging.getLogger("copilot")  # it logs tracebacks we report as one line
    quiet.addHandler(logging.NullHandler())
    quiet.propagate = False
    return sdk


# -- the CLI process --------------------------------------------------------
class CliProcess:
    """The ``copilot --headless`` server, on a loopback port, dying with us."""

    def __init__(self, cli: Path, args: list[str], env: dict[str, str]) -> None:
        self.cli = cli
        self.args = args
        self.env = env
        self.token = secrets.token_hex(16)
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self.lines: deque[str] = deque(maxlen=TAIL_LINES)
        self.exited: asyncio.Task[int] | None = None
        self._drain: asyncio.Task[None] | None = None
        self._atexit: Callable[[], None] | None = None

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def spawn(self) -> None:
        env = {**self.env, "COPILOT_CONNECTION_TOKEN": self.token}
        self.proc = await asyncio.create_subprocess_exec(
            str(self.cli),
            *self.args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
            preexec_fn=functools.partial(_die_with, os.getpid(), _prctl()),
            process_group=0,  # Ctrl-C in the terminal is for us, not for it
        )
        self._atexit = functools.partial(_kill_group, self.proc.pid)
        atexit.register(self._atexit)
        self.exited = asyncio.ensure_future(self.proc.wait())

    async def wait_port(self) -> int:
        """Read its output until it says which port it listens on."""
        assert self.proc is not None and self.proc.stdout is not None
        stdout = self.proc.stdout
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                line = await asyncio.wait_for(stdout.readline(), deadline - time.monotonic())
            except TimeoutError:
                break
            if not line:
                raise CopilotError(f"the Copilot CLI ({self.cli}) failed to start; {self.tail()}")
            match = _PORT_RE.search(line)
            if match:
                self.port = int(match.group(1))
                self._drain = asyncio.ensure_future(self._keep_reading(stdout))
                return self.port
            self._keep(line)
        raise CopilotError(
            f"the Copilot CLI did not start within {START_TIMEOUT:g} s; {self.tail()}"
        )

    def _keep(self, line: bytes) -> None:
        text = line.decode("utf-8", "replace").strip()
        if text:
            self.lines.append(text)

    async def _keep_reading(self, stdout: asyncio.StreamReader) -> None:
        """Drain its output (a full pipe would block it), keeping the last lines."""
        with contextlib.suppress(OSError, ValueError):
            while line := await stdout.readline():
                self._keep(line)

    def tail(self, lines: int = 3) -> str:
        kept = list(self.lines)[-lines:]
        return "its output: " + " | ".join(kept) if kept else "it printed nothing"

    async def stop(self) -> None:
        """SIGTERM its process group, SIGKILL after STOP_TIMEOUT; safe twice."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.returncode is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_TIMEOUT)
            except TimeoutError:
                _signal_group(proc.pid, signal.SIGKILL)
                await proc.wait()
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)
            self._drain = None
        if self._atexit is not None:
            atexit.unregister(self._atexit)  # its pid may be reused later
            self._atexit = None


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, sig)


def _kill_group(pid: int) -> None:
    _signal_group(pid, signal.SIGKILL)
    _kill_quietly(pid)


# -- what the CLI session has seen ------------------------------------------
