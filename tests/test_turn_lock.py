"""A turn in flight, in this process or another, holds its session's turn
lock (``history/busy.py``) from before its prompt is saved to its reply's
last record, waiting for the first token included. A purge, a move to the
trash and a turn from another process respect it: nothing of the turn is
lost, split or blamed on another process. Real processes, the loopback
server; a reply held back by a gate (no sleeps, no timing)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, run_proc, spawn
from fakeserver import FakeServer, Reply

from copilot_repl.history import busy
from copilot_repl.history.store import Store

ERR = "copilot-repl: error: "
GUARD = 60.0
REPLY = "the whole reply, held back until the test lets it go"


def wait_for(predicate: object, proc: subprocess.Popen[bytes]) -> None:
    """Wait on a state (the turn lock taken) while the process lives (the
    deadline is a guard against a hang, not a timing assertion)."""
    assert callable(predicate)
    deadline = time.monotonic() + GUARD
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the state was never reached"
        time.sleep(0.02)


def contents(home: Path, name: str = "main") -> list[tuple[str, str, str]]:
    return [(m.role, m.content, m.status) for m in Store(home).load(name).data.messages]


@pytest.fixture
def held(
    server: FakeServer, home: Path
) -> Iterator[tuple[subprocess.Popen[bytes], threading.Event]]:
    """Process A: `main` holds the cleared secret in the trash, then a prompt
    whose reply is held back (A waits for its first token)."""
    url = ["--base-url", server.url]
    r = run_cli(url, "my secret is 1234\n:clear\n")
    assert r.code == 0, r.err
    gate = threading.Event()
    server.queue(Reply(text=REPLY, gate=gate))
    asked = len(server.requests)
    proc = spawn(url, b"hello\n")
    try:
        wait_for(lambda: len(server.requests) > asked, proc)  # A waits for its first token
        yield proc, gate
    finally:
        gate.set()
        if proc.poll() is None:
            assert proc.stdin is not None
            proc.stdin.close()
        proc.wait(timeout=120)


def finish(proc: subprocess.Popen[bytes], gate: threading.Event) -> str:
    gate.set()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert b"Traceback" not in err, err
    return out.decode()


def test_a_purge_in_another_process_waits_for_the_first_token_no_more(
    server: FakeServer, home: Path, held: tuple[subprocess.Popen[bytes], threading.Event]
) -> None:
    proc, gate = held
    entry = [p.name for p in (home / "trash").iterdir()]
    url = ["--base-url", server.url]
    for script in (":clear --purge\n", ":trash empty\n", ":rm main\n"):
        r = run_proc(url, script)
        assert r.code == 1, r
        assert r.err.count(ERR) == 1 and "main is answering a prompt" in r.err, r.err
        assert "Traceback" not in r.err
    r = run_proc(["sessions", "rm", "main"])
    assert r.code == 1 and "main is answering a prompt" in r.err, r
    assert [p.name for p in (home / "trash").iterdir()] == entry  # the secret still purgeable
    assert finish(proc, gate).strip().endswith(REPLY)
    assert contents(home) == [("user", "hello", "done"), ("assistant", REPLY, "done")]
    r = run_proc(url, ":trash empty\n")  # now it can be purged
    assert r.code == 0, r.err
    assert b"1234" not in (home / "sessions" / "main.jsonl").read_bytes()
    assert not (home / "trash").exists() or not any((home / "trash").iterdir())


def test_trash_days_at_start_up_leaves_what_it_cannot_purge_and_starts(
    server: FakeServer, home: Path, held: tuple[subprocess.Popen[bytes], threading.Event]
) -> None:
    proc, gate = held
    (entry,) = (home / "trash").iterdir()
    name, stamp, kind = entry.name.split("~")
    old = entry.with_name(f"{name}~{int(stamp) - 40 * 86400 * 10**9}~{kind}")
    entry.rename(old)
    (home / "config.toml").write_text("trash_days = 30\n")
    r = run_proc(["--base-url", server.url, "--session", "other"], "hi\n")
    assert r.code == 0, r.err
    assert "not purged yet (trash_days)" in r.err and "main is answering a prompt" in r.err
    assert old.exists()
    finish(proc, gate)
    r = run_proc(["--base-url", server.url, "--session", "other"], "again\n")
    assert r.code == 0 and "purged 1 trash items older than 30 days (main)" in r.err, r.err
    assert not old.exists()


def test_a_one_shot_from_another_process_waits_for_the_reply_in_flight(
    server: FakeServer, home: Path, held: tuple[subprocess.Popen[bytes], threading.Event]
) -> None:
    proc, gate = held
    other = subprocess.Popen(
        [sys.executable, "-m", "copilot_repl", "--base-url", server.url, "--session", "main"]
        + ["-p", "second"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    assert other.stderr is not None
    line = other.stderr.readline().decode()  # what it says while it waits
    assert "waiting: main is answering a prompt in another process" in line, line
    finish(proc, gate)
    out, err = other.communicate(timeout=120)
    assert other.returncode == 0, err
    assert out.decode().strip() == "echo: second"
    assert contents(home) == [
        ("user", "hello", "done"),
        ("assistant", REPLY, "done"),
        ("user", "second", "done"),
        ("assistant", "echo: second", "done"),
    ]


def test_a_purge_in_the_same_process_is_refused_while_a_turn_waits(
    server: FakeServer, home: Path
) -> None:
    url = ["--base-url", server.url]
    assert run_cli(url, "my secret is 1234\n:clear\n").code == 0
    server.queue(Reply(text=REPLY, first_delay=0.5))
    r = run_cli(url, "hello &\n:trash empty\n:wait\n")
    assert (
        "main is answering a prompt" in r.err
        and "another process" not in r.err.split("main is answering")[0]
    ), r.err
    assert contents(home) == [("user", "hello", "done"), ("assistant", REPLY, "done")]
    assert len(list((home / "trash").iterdir())) == 1


def test_the_lock_of_a_process_killed_with_9_is_free_again(home: Path) -> None:
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from copilot_repl.history import busy\n"
        "assert busy.try_hold(Path(sys.argv[1]), 'main') is not None\n"
        "print('held', flush=True)\n"
        "sys.stdin.read()\n"
    )
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"held\n"
    assert busy.in_flight(home, "main") and not busy.in_flight(home, "other")
    proc.kill()
    proc.wait()
    assert not busy.in_flight(home, "main")
    assert (home / "locks").stat().st_mode & 0o777 == 0o700


def test_a_session_deleted_under_a_streaming_reply_is_one_line(
    server: FakeServer, home: Path
) -> None:
    """Another process deletes the session (``delete_session``) while a reply
    streams into it: one line, the reply kept in memory, no traceback."""
    gate = threading.Event()
    server.queue(Reply(text="part " * 200, delay=0.005, gate=gate))
    proc = spawn(["--base-url", server.url], b"hello\n")
    wait_for(lambda: len(server.requests) > 0, proc)
    Store(home).delete("main")
    gate.set()
    _, err = proc.communicate(timeout=120)  # stdin closed: the script ends
    text = err.decode()
    assert "Traceback" not in text and "Exception in callback" not in text, text
    assert text.count(ERR) == 1 and "session 'main' was deleted" in text, text
    assert "the reply is kept in memory only" in text
    assert proc.returncode == 1


def test_a_second_run_of_the_same_comparison_says_so_and_exits_1(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    gate = threading.Event()
    server.queue(Reply(text="held", gate=gate))
    args = ["--base-url", server.url, "compare", "--models", "echo,slow", "--prompts"]
    first = subprocess.Popen(
        [sys.executable, "-m", "copilot_repl", *args, str(prompts)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    try:
        wait_for(lambda: len(server.requests) > 0, first)
        r = run_proc([*args, str(prompts)])
        assert r.code == 1, r
        assert r.err.count(ERR) == 1 and "is being run by another process" in r.err, r.err
        assert "Traceback" not in r.err
    finally:
        gate.set()
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0 and b"Traceback" not in err, err
    assert len(server.requests) == 4  # each pair asked once
    r = run_proc([*args, str(prompts)])
    assert r.code == 0 and "4 of 4 already in" in r.err, r
