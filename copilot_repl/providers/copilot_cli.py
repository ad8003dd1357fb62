"""Finding, starting and stopping the ``copilot`` CLI process."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import platform
import re
import secrets
import shutil
import sys
import time
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from copilot_repl.config import ProviderSettings
from copilot_repl.errors import CopilotError
from copilot_repl.providers.childproc import Child, child_env

CLI_HINT = (
    "install it with `make copilot-cli` (or `npm install -g @github/copilot`), "
    "or set cli_path in [providers.copilot] or COPILOT_CLI_PATH"
)
SDK_DIST = "github-copilot-sdk"
SDK_HINT = "install the copilot extra: pip install 'copilot-repl[copilot]'"
START_TIMEOUT = 60.0
TAIL_LINES = 20
_PORT_RE = re.compile(rb"listening on port (\d+)", re.I)
# What the CLI may see of our environment beyond childproc.BASE_ENV: the way
# out (proxies, CA certificates), and the CLI's own COPILOT_* settings (not
# copilot-repl's COPILOT_REPL_*, which can hold BYOK keys).
CLI_NETWORK_ENV = tuple(
    name
    for base in ("HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY")
    for name in (base, base.lower())
) + ("SSL_CERT_FILE", "SSL_CERT_DIR", "NODE_EXTRA_CA_CERTS", "GH_HOST")
# GitHub credentials: only when the CLI talks to GitHub (not offline BYOK).
CLI_GITHUB_ENV = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")


def cli_env(env: Mapping[str, str]) -> dict[str, str]:
    """The environment for the CLI, from ``env`` as the provider built it."""
    offline = env.get("COPILOT_OFFLINE", "").lower() == "true"
    own = {
        k: v
        for k, v in env.items()
        if k.startswith("COPILOT_")
        and not k.startswith("COPILOT_REPL_")
        and not (offline and k in CLI_GITHUB_ENV)
    }
    keep = CLI_NETWORK_ENV if offline else (*CLI_NETWORK_ENV, *CLI_GITHUB_ENV)
    return child_env(env, keep=keep, extra=own)


# -- finding the CLI --------------------------------------------------------
def cache_dirs(env: Mapping[str, str]) -> list[Path]:
    """Where ``make copilot-cli`` installs the CLI (npm ``--prefix``)."""
    xdg = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME") or Path.home()) / ".cache")
    dirs = [Path(xdg) / "copilot-repl" / "copilot-cli"]
    with contextlib.suppress(ImportError):
        import platformdirs  # start-up: platformdirs (~6 ms) only where it is the fallback

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


def find_cli(config: ProviderSettings, env: Mapping[str, str]) -> Path:
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
    from importlib import metadata  # start-up: importlib.metadata (~20 ms) only when asked

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
        self.child = Child()
        self.port = 0
        self.lines: deque[str] = deque(maxlen=TAIL_LINES)
        self.exited: asyncio.Task[int] | None = None
        self._drain: asyncio.Task[None] | None = None

    @property
    def proc(self) -> asyncio.subprocess.Process | None:
        return self.child.proc

    @property
    def running(self) -> bool:
        return self.child.running

    async def spawn(self) -> None:
        env = {**cli_env(self.env), "COPILOT_CONNECTION_TOKEN": self.token}
        proc = await self.child.spawn(
            [str(self.cli), *self.args],
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            env=env,
        )
        self.exited = asyncio.ensure_future(proc.wait())

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
        """SIGTERM its process group, SIGKILL after a grace period; safe twice."""
        await self.child.stop()
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)
            self._drain = None


# -- what the CLI session has seen ------------------------------------------
