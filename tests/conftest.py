"""Shared fixtures: every test gets its own data dir, and a loopback server."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fakeserver import FakeServer
from hypothesis import settings

if TYPE_CHECKING:
    from pty_harness import Launch
    from screen_harness import Start
    from shell_harness import Harness

from copilot_repl.cli.main import main

ROOT = Path(__file__).resolve().parent.parent

# No deadlines: a test is never timed (a loaded 2-core machine makes a 1 ms
# example take 300 ms); speed is measured in bench/.
settings.register_profile("copilot-repl", deadline=None)
settings.load_profile("copilot-repl")


def pytest_configure(config: pytest.Config) -> None:
    """The programs the tests start in pseudo-terminals stand for a person at
    a terminal, whose Ctrl-C interrupts. A test run started in the background
    (``cmd &`` in a script) ignores SIGINT, and its children would inherit
    that: Ctrl-C at the ``-r`` question was then ignored."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point all saved state at a fresh temp dir; never the real home."""
    path = tmp_path / "home"
    monkeypatch.setenv("COPILOT_REPL_HOME", str(path))
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "NO_COLOR", "GITHUB_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    return path


@pytest.fixture(scope="session")
def _server() -> Iterator[FakeServer]:
    with FakeServer() as srv:
        yield srv


@pytest.fixture
def server(_server: FakeServer) -> FakeServer:
    """The loopback OpenAI-compatible server, with a clean queue and log."""
    _server.clear()
    _server.requests.clear()
    return _server


@pytest.fixture
async def shell(
    server: FakeServer, home: Path, request: pytest.FixtureRequest
) -> AsyncIterator[Harness]:
    """The interactive shell in-process, at its prompt (tests/shell_harness.py);
    parametrized indirectly: "file" (the default), "plain" or "terminal"."""
    from shell_harness import open_shell  # prompt_toolkit: only where a shell is driven

    async with open_shell(server, home, getattr(request, "param", "file")) as h:
        yield h


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_cli(args: list[str], stdin: str | bytes = "", env: dict[str, str] | None = None) -> Result:
    """Run copilot-repl in this process in script mode."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    out, err = io.StringIO(), io.StringIO()
    code = main(
        args, stdin=io.BytesIO(data), stdout=out, stderr=err, env={**os.environ, **(env or {})}
    )
    return Result(code, out.getvalue(), err.getvalue())


def run_proc(
    args: list[str],
    stdin: str | bytes = "",
    env: dict[str, str] | None = None,
    timeout: float = 300,  # a guard against a hang, not a timing test
) -> Result:
    """Run copilot-repl as a real subprocess (``python -m copilot_repl``)."""
    data = stdin.encode() if isinstance(stdin, str) else stdin
    proc = subprocess.run(
        [sys.executable, "-m", "copilot_repl", *args],
        input=data,
        capture_output=True,
        env={**os.environ, **(env or {})},
        timeout=timeout,
        cwd=ROOT,
    )
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def live_processes(command_marker: bytes, env_var: str, value: str | Path) -> list[int]:
    """Pids of live processes whose command line holds ``command_marker`` and
    whose environment sets ``env_var=value`` (to find what a test started)."""
    tag = f"\0{env_var}={value}\0".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if command_marker not in (entry / "cmdline").read_bytes():
                continue  # a zombie has an empty cmdline: it counts as gone
            if tag in b"\0" + (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def spawn(args: list[str], first_line: bytes) -> subprocess.Popen[bytes]:
    """Start copilot-repl in script mode, send ``first_line``, keep stdin open."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "copilot_repl", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdin is not None
    proc.stdin.write(first_line)
    proc.stdin.flush()
    return proc


@pytest.fixture
def launch(server: FakeServer, home: Path) -> Iterator[Launch]:
    """copilot-repl in a pseudo-terminal (tests/pty_harness.py): ``launch()``
    starts one and waits for the prompt of ``session``."""
    from pty_harness import launcher  # pexpect: only where a terminal is driven

    with launcher(server.url, home) as start:
        yield start


@pytest.fixture
def term(server: FakeServer, home: Path) -> Iterator[Start]:
    """copilot-repl in a pseudo-terminal drawn on a pyte screen
    (tests/screen_harness.py): ``term(rows, cols)`` starts one at its prompt."""
    pytest.importorskip("pyte")
    from screen_harness import screens

    with screens(server.url, home) as start:
        yield start
