"""The store's writes under faults: short writes for real (a file-size limit
just above the file), creation all or nothing, a file replaced, renamed or
deleted by another process, a truncate computed from a stale view, a file
from a newer copilot-repl, and replies whose writer's pid is a zombie or
reused."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli
from fakeserver import FakeServer
from helpers import msg, new_store, wait_for

from copilot_repl.errors import SessionChanged, SessionNotFound, StoreError
from copilot_repl.history.messages import DONE, INTERRUPTED, SessionData
from copilot_repl.history.store import PROCESS_TOKEN, Store
from copilot_repl.history.writers import proc_stat, writer_alive


def contents(store: Store, name: str) -> list[str]:
    return [m.content for m in store.load(name).data.messages]


# A child process with RLIMIT_FSIZE set: os.write really writes only part of
# what it is given, then fails (Python ignores SIGXFSZ).
LIMITED = """
import resource, sys
from pathlib import Path
from copilot_repl.errors import ReplError
from copilot_repl.history.messages import SessionData
from copilot_repl.history.store import Store
store = Store(Path(sys.argv[1]))
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    exec(sys.argv[3])
except ReplError as exc:
    print(f"{type(exc).__name__}: {exc}")
else:
    print("ok")
"""


def limited(root: Path, limit: int, action: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", LIMITED, str(root), str(limit), action],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().strip()


# -- short writes -----------------------------------------------------------------


def test_a_short_write_fails_loudly_and_leaves_the_file_as_it_was(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "saved before"))
    path = store.path("main")
    before = path.read_bytes()
    reply = "a reply of a few hundred bytes " * 10
    out = limited(
        tmp_path,
        len(before) + 40,  # room for 40 bytes of a ~400-byte record
        f"store.append('main', {msg('assistant', reply)!r})",
    )
    assert out.startswith(f"StoreError: cannot write {path}: the file is larger than allowed")
    assert path.read_bytes() == before  # the cut record was rolled back
    store.append("main", msg("assistant", "later"))
    loaded = store.load("main")
    assert [m.content for m in loaded.data.messages] == ["saved before", "later"]
    assert loaded.warnings == []


def test_a_short_write_of_several_records_writes_none_of_them(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    before = store.path("main").read_bytes()
    action = "store.append('main', *[{'t': 'msg', 'role': 'user', 'content': 'x' * 50}] * 5)"
    assert limited(tmp_path, len(before) + 150, action).startswith("StoreError: cannot write")
    assert store.path("main").read_bytes() == before


def test_create_is_all_or_nothing(tmp_path: Path) -> None:
    Store(tmp_path).ensure()
    out = limited(
        tmp_path, 20, "store.create(SessionData(name='main', model='openai:x', system='s' * 100))"
    )
    assert out.startswith("StoreError: cannot create")
    assert os.listdir(tmp_path / "sessions") == []  # no half header, no temp file
    assert Store(tmp_path).names() == []


def test_failed_state_writes_leave_no_temp_file(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    (tmp_path / "state.json").unlink(missing_ok=True)
    assert limited(tmp_path, 5, "store.set_current('main')") == "ok"  # best effort, silent
    assert limited(tmp_path, 5, "store.summaries()") == "ok"
    assert sorted(os.listdir(tmp_path)) == ["sessions"]
    assert os.listdir(tmp_path / "sessions") == ["main.jsonl"]
    assert store.current() is None


# -- blank and header-less files -------------------------------------------------


@pytest.mark.parametrize("content", [b"", b'{"t":"session","schema":1,"mod'])
def test_a_blank_session_file_is_reported_and_can_be_replaced(
    tmp_path: Path, content: bytes
) -> None:
    store = new_store(tmp_path, "other")
    path = store.sessions_dir / "main.jsonl"
    path.write_bytes(content)  # what a crash between create and header used to leave
    with pytest.raises(StoreError, match=r"main.jsonl is empty or has no complete header"):
        store.load("main")
    with pytest.raises(StoreError, match=r":rm main removes it"):
        store.append("main", msg("user", "x"))
    assert path.read_bytes() == content
    assert [s.name for s in store.summaries()] == ["other"]
    assert any("main.jsonl is empty" in w for w in store.take_warnings())
    loaded = store.create(SessionData(name="main", model="openai:x"))
    store.append("main", msg("user", "hello"), loaded=loaded)
    assert contents(store, "main") == ["hello"]


# -- another process's files -------------------------------------------------------


def test_append_never_writes_into_a_file_another_process_replaced(tmp_path: Path) -> None:
    store = new_store(tmp_path, "a")
    loaded = store.load("a")
    other = Store(tmp_path)
    other.delete("a")
    other.create(SessionData(name="a", model="openai:theirs"))
    before = store.path("a").read_bytes()
    with pytest.raises(SessionNotFound, match="removed or replaced by another process"):
        store.append("a", msg("assistant", "mine"), loaded=loaded)
    assert store.path("a").read_bytes() == before


def test_append_follows_a_rename_by_another_process(tmp_path: Path) -> None:
    store = new_store(tmp_path, "a")
    loaded = store.load("a")
    Store(tmp_path).rename("a", "b")
    store.append("a", msg("assistant", "still saved"), loaded=loaded)
    assert loaded.data.name == "b"
    assert loaded.warnings == [
        "session 'a' was renamed to 'b' by another process; continuing as 'b'"
    ]
    assert [m.content for m in loaded.data.messages] == ["still saved"]
    assert contents(store, "b") == ["still saved"]
    assert store.names() == ["b"]


WAITING_WRITER = """
import sys
from pathlib import Path
from copilot_repl.errors import ReplError
from copilot_repl.history.store import Store
store = Store(Path(sys.argv[1]))
loaded = store.load("a")
print("loaded", flush=True)
sys.stdin.readline()
try:
    store.append("a", {"t": "msg", "role": "user", "content": "late"}, loaded=loaded)
except ReplError as exc:
    print(f"{type(exc).__name__}: {exc}")
else:
    print("ok")
"""


def test_a_writer_waiting_for_the_lock_of_a_deleted_file_writes_nothing(tmp_path: Path) -> None:
    """Another process deletes the file while this one waits for its lock:
    the append must fail, not go into the unlinked file."""
    store = new_store(tmp_path, "a")
    path = store.path("a")
    proc = subprocess.Popen(
        [sys.executable, "-c", WAITING_WRITER, str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=ROOT,
    )
    assert proc.stdin is not None and proc.stdout is not None
    assert proc.stdout.readline() == b"loaded\n"
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    proc.stdin.write(b"go\n")
    proc.stdin.flush()
    try:
        ino = os.fstat(fd).st_ino

        def child_holds_it_open_for_writing() -> bool:
            fds = Path(f"/proc/{proc.pid}/fdinfo")
            for info in fds.glob("*"):
                try:
                    text = info.read_text()
                    target = os.stat(f"/proc/{proc.pid}/fd/{info.name}")
                except OSError:
                    continue
                flags = int(text.split("flags:")[1].split()[0], 8)
                if target.st_ino == ino and flags & os.O_APPEND:
                    return True
            return False

        wait_for(child_holds_it_open_for_writing)
        os.unlink(path)
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    out, _ = proc.communicate(timeout=60)
    assert out.decode().strip() == "SessionNotFound: session 'a' was deleted (by another process?)"


def test_truncate_never_deletes_what_this_process_has_not_seen(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "q1"), msg("assistant", "a1"))
    mine = store.load("main")
    other = Store(tmp_path)
    other.append("main", msg("user", "q2 from the other process"))
    with pytest.raises(SessionChanged, match="changed in another process meanwhile"):
        store.truncate(mine, 1)  # :retry from a stale view
    assert contents(store, "main") == ["q1", "a1", "q2 from the other process"]
    assert [m.content for m in mine.data.messages] == ["q1", "a1", "q2 from the other process"]
    other.append("main", {"t": "meta", "system": "a meta record changes no message"})
    store.truncate(mine, 2)  # computed from what it now has seen
    assert [m.content for m in mine.data.messages] == ["q1", "a1"]
    assert contents(store, "main") == ["q1", "a1"]
    with pytest.raises(ValueError):
        store.truncate(mine, 3)


# -- a newer schema ---------------------------------------------------------------


def test_a_file_from_a_newer_copilot_repl_opens_read_only(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.ensure()
    path = store.sessions_dir / "future.jsonl"
    lines = [
        {"t": "session", "schema": 3, "model": "openai:x", "new-field": [1]},
        msg("user", "hello"),
        {"t": "reaction", "emoji": "+1"},
    ]
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in lines))
    before = path.read_bytes()
    loaded = store.load("future")
    assert [m.content for m in loaded.data.messages] == ["hello"]
    assert loaded.read_only
    assert any("written by a newer copilot-repl (schema 3" in w for w in loaded.warnings)
    for attempt in (
        lambda: store.append("future", msg("user", "x")),
        lambda: store.append("future", msg("user", "x"), loaded=loaded),
        lambda: store.truncate(loaded, 0),
    ):
        with pytest.raises(StoreError, match="written by a newer copilot-repl"):
            attempt()
    assert path.read_bytes() == before
    assert [(s.name, s.messages) for s in store.summaries()] == [("future", 1)]


# -- whose reply is still streaming -------------------------------------------------


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_reply_whose_writer_is_a_zombie_is_interrupted(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        wait_for(lambda: (proc_stat(proc.pid) or ("?", 0))[0] == "Z")  # exited, not reaped
        rid = f"{proc.pid}-1a2b3c4d-1"  # an id as older versions wrote them
        store.append("main", msg("user", "q"), {"t": "part", "id": rid, "text": "half"})
        loaded = store.load("main")
        assert [(m.content, m.status) for m in loaded.data.messages] == [
            ("q", DONE),
            ("half", INTERRUPTED),
        ]
    finally:
        proc.wait()


def test_a_reply_whose_writer_pid_was_reused_is_interrupted(tmp_path: Path) -> None:
    """A live process with the writer's pid but another start time is not the writer."""
    store = new_store(tmp_path, "main")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        state = proc_stat(proc.pid)
        assert state is not None
        boot = PROCESS_TOKEN.split("-")[1].split(".")[2]
        theirs = f"{proc.pid}-00000000.{state[1]}.{boot}-1"
        reused = f"{proc.pid}-00000000.{state[1] + 1}.{boot}-2"
        other_boot = f"{proc.pid}-00000000.{state[1]}.ffffffff-3"
        assert writer_alive(theirs)
        assert not writer_alive(reused) and not writer_alive(other_boot)
        store.append("main", msg("user", "q"))
        for rid in (theirs, reused, other_boot):
            store.append("main", {"t": "part", "id": rid, "text": rid})
        loaded = store.load("main")
        assert [(m.content, m.status) for m in loaded.data.messages] == [
            ("q", DONE),
            (reused, INTERRUPTED),
            (other_boot, INTERRUPTED),
        ]
        assert list(loaded.parts) == [theirs]  # still streaming: shown when it ends
        assert store.summaries()[0].messages == 3
    finally:
        proc.kill()
        proc.wait()


def test_reply_ids_of_this_process_carry_its_start_time() -> None:
    pid, token = PROCESS_TOKEN.split("-")
    assert int(pid) == os.getpid()
    start = token.split(".")[1]
    me = proc_stat(os.getpid())
    assert me is not None and int(start) == me[1]
    assert writer_alive(f"{PROCESS_TOKEN}-7")
    assert not writer_alive(f"{pid}-00000000-7")  # this pid, an earlier process
    assert not writer_alive(f"{dead_pid()}-{token}-1")
    assert not writer_alive("not-a-pid-1") and not writer_alive("")


def _limit_file_size(limit: int) -> None:  # runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_short_write_through_the_cli_is_reported_and_exits_1(
    server: FakeServer, home: Path
) -> None:
    """The whole program on a file-size limit just above the file: the prompt
    record is cut short by the kernel; it is reported, never half saved."""
    assert run_cli(["--base-url", server.url], "saved before\n").code == 0
    path = home / "sessions" / "main.jsonl"
    before = path.read_bytes()
    proc = subprocess.run(
        [sys.executable, "-m", "copilot_repl", "--base-url", server.url],
        input=b"a prompt long enough not to fit in the few bytes left\n",
        capture_output=True,
        cwd=ROOT,
        preexec_fn=lambda: _limit_file_size(len(before) + 30),
        timeout=60,
        check=False,
    )
    err = proc.stderr.decode()
    assert path.read_bytes() == before  # no torn record for the next launch to skip
    assert proc.returncode == 1, err
    assert f"cannot write {path}: the file is larger than allowed" in err
    assert "kept in memory only" in err
    assert Store(home).load("main").warnings == []
