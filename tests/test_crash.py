"""Disk and process faults: a full disk, a read-only session file, a session
removed by another process (kill -9 is in test_faults.py)."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, spawn
from fakeserver import FakeServer
from helpers import records, wait_for


def _limit_file_size(limit: int) -> None:  # runs in the child
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_full_disk_reports_and_keeps_going(server: FakeServer, home: Path) -> None:
    assert run_cli(["--base-url", server.url], "saved before\n").code == 0
    path = home / "sessions" / "main.jsonl"
    before = path.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "copilot_repl", "--base-url", server.url],
        input=b"not saved\n:export\n",
        capture_output=True,
        cwd=ROOT,
        preexec_fn=lambda: _limit_file_size(len(before)),
        timeout=60,
    )
    err = proc.stderr.decode()
    out = proc.stdout.decode()
    assert proc.returncode == 1
    assert "copilot-repl: error:" in err and "kept in memory only" in err
    assert "echo: not saved" in out  # the reply still arrived
    assert "## user\n\n```text\nnot saved\n```" in out  # :export still has the unsaved turn
    assert path.read_bytes() == before  # nothing saved was lost or damaged


def _make_readonly(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o400)
        return
    done = subprocess.run(["chattr", "+i", str(path)], capture_output=True)
    if done.returncode != 0:
        pytest.skip("running as root without chattr: cannot make a file read-only")


def test_read_only_session_file(server: FakeServer, home: Path) -> None:
    assert run_cli(["--base-url", server.url], "saved before\n").code == 0
    path = home / "sessions" / "main.jsonl"
    before = path.read_bytes()
    _make_readonly(path)
    try:
        res = run_cli(["--base-url", server.url], "cannot save\n:ls\n")
    finally:
        if os.geteuid() == 0:
            subprocess.run(["chattr", "-i", str(path)], capture_output=True)
        path.chmod(0o600)
    assert res.code == 1
    assert "read-only" in res.err
    assert "echo: cannot save" in res.out
    assert "main" in res.out  # :ls ran after the failure
    assert path.read_bytes() == before


def test_session_removed_by_another_process(server: FakeServer, home: Path) -> None:
    proc = spawn(["--base-url", server.url, "--session", "shared"], b"hello\n")
    path = home / "sessions" / "shared.jsonl"
    wait_for(
        lambda: (
            path.exists()
            and any(r["t"] == "msg" and r["role"] == "assistant" for r in records(path))
        )
    )
    assert run_cli(["--base-url", server.url], ":rm shared\n").code == 0
    out, err = proc.communicate(b"are you there?\n:ls\n", timeout=30)
    assert proc.returncode == 1
    lines = [ln for ln in err.decode().splitlines() if ln.startswith("copilot-repl: error:")]
    assert len(lines) == 1 and "deleted" in lines[0]


def test_sigterm_while_waiting_for_input_exits(server: FakeServer, home: Path) -> None:
    proc = spawn(["--base-url", server.url], b"hello\n")
    path = home / "sessions" / "main.jsonl"
    wait_for(lambda: path.exists() and any(r.get("role") == "assistant" for r in records(path)))
    proc.terminate()  # stdin stays open: the reader thread is blocked in read()
    assert proc.wait(timeout=20) == 128 + 15
    assert proc.stdout is not None and b"echo: hello" in proc.stdout.read()
