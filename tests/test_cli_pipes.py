"""Output piped into a program that stops reading (``copilot-repl sessions |
head -1``): copilot-repl ends quietly, as ``cat`` does (status 141, killed
by SIGPIPE's number), no Python traceback on the terminal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_proc
from fakeserver import FakeServer

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pipe")


def run_into_closed_pipe(args: list[str]) -> tuple[int, str]:
    """Run copilot-repl with stdout a pipe nobody reads any more (its reading
    end closed before it starts: every write fails at once)."""
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "copilot_repl", *args],
            stdin=subprocess.DEVNULL,
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            timeout=120,  # a guard
        )
    finally:
        os.close(write)
    return proc.returncode, proc.stderr.decode()


@pytest.mark.parametrize(
    "args",
    [["sessions", "list"], ["sessions"], ["completion", "bash"], ["--help"], ["PROMPT"]],
)
def test_a_reader_gone_ends_quietly(server: FakeServer, home: Path, args: list[str]) -> None:
    r = run_proc(["--base-url", server.url, "-m", "echo", "a first prompt"])
    assert r.code == 0, r.err
    args = [a if a != "PROMPT" else "hello" for a in args]
    if args == ["hello"]:
        args = ["--base-url", server.url, "-m", "echo", "hello"]
    code, err = run_into_closed_pipe(args)
    assert "Traceback" not in err and "BrokenPipe" not in err, err
    assert code == 141, err
