"""The on-disk store: JSON Lines per session, append-only, locked, private."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, run_proc
from fakeserver import FakeServer
from helpers import msg, new_store, records

from copilot_repl.errors import BadSessionName, SessionExists, SessionNotFound
from copilot_repl.history.messages import DONE, INTERRUPTED, SessionData
from copilot_repl.history.store import SCHEMA, Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


# -- round trip -----------------------------------------------------------------


def test_round_trip(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", 'hello\nworld ✓ "quoted"'))
    store.append("main", msg("assistant", "hi", status=DONE, model="openai:x", tokens=7))
    store.append("main", {"t": "meta", "system": "be brief"})
    store.append("main", {"t": "meta", "model": "openai:other"})
    loaded = store.load("main")
    data = loaded.data
    assert data.name == "main"
    assert data.model == "openai:other"
    assert data.system == "be brief"
    assert data.created == 1000.0
    assert [(m.role, m.content) for m in data.messages] == [
        ("user", 'hello\nworld ✓ "quoted"'),
        ("assistant", "hi"),
    ]
    assert data.messages[1].tokens == 7 and data.messages[1].model == "openai:x"
    assert loaded.warnings == []


def test_file_is_human_readable_json_lines_with_a_schema(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "héllo"))
    raw = store.path("main").read_text(encoding="utf-8")
    assert "héllo" in raw  # not \u-escaped
    header, first = records(store.path("main"))
    assert header["t"] == "session" and header["schema"] == SCHEMA
    assert header["name"] == "main" and header["model"] == "openai:gpt-4o-mini"
    assert first["content"] == "héllo"


def test_truncate_record_keeps_the_first_n(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "a"), msg("assistant", "b"), msg("user", "c"))
    store.append("main", {"t": "truncate", "keep": 1})
    store.append("main", msg("assistant", "d"))
    assert [m.content for m in store.load("main").data.messages] == ["a", "d"]
    (summary,) = store.summaries()
    assert summary.messages == 2


def test_refresh_picks_up_what_another_store_appended(tmp_path: Path) -> None:
    a = new_store(tmp_path, "main")
    b = Store(tmp_path)
    loaded = a.load("main")
    assert a.refresh(loaded) is False
    b.append("main", msg("user", "from b"))
    assert a.refresh(loaded) is True
    assert [m.content for m in loaded.data.messages] == ["from b"]


def test_create_twice_fails_and_leaves_the_file(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "keep me"))
    before = store.path("main").read_bytes()
    with pytest.raises(SessionExists):
        store.create(SessionData(name="main", model="openai:x"))
    assert store.path("main").read_bytes() == before


@pytest.mark.parametrize("name", ["../x", "a/b", ".hidden", "", "x" * 65, "a\x00b", "con"])
def test_bad_names_never_become_paths(tmp_path: Path, name: str) -> None:
    store = new_store(tmp_path)
    with pytest.raises(BadSessionName):
        store.create(SessionData(name=name, model="openai:x"))
    with pytest.raises(BadSessionName):
        store.load(name)
    with pytest.raises(BadSessionName):
        store.append(name, msg("user", "x"))
    with pytest.raises(BadSessionName):
        store.delete(name)
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["sessions"]


def test_load_missing(tmp_path: Path) -> None:
    with pytest.raises(SessionNotFound, match="no session named 'nope'"):
        new_store(tmp_path).load("nope")


# -- torn and corrupt lines -----------------------------------------------------


def test_torn_last_line_is_skipped_with_a_warning(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "one"), msg("assistant", "two"))
    path = store.path("main")
    with open(path, "ab") as f:
        f.write(b'{"t":"msg","role":"user","cont')  # kill -9 in the middle of a write
    before = path.read_bytes()
    loaded = store.load("main")
    assert [m.content for m in loaded.data.messages] == ["one", "two"]
    assert len(loaded.warnings) == 1
    assert str(path) in loaded.warnings[0] and "line 4" in loaded.warnings[0]
    assert path.read_bytes() == before  # not silently rewritten
    assert list(store.sessions_dir.glob("*.bak")) == []
    # reading again does not repeat the warning
    store.refresh(loaded)
    assert len(loaded.warnings) == 1


def test_append_after_a_torn_line_keeps_a_copy_first(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "one"))
    path = store.path("main")
    with open(path, "ab") as f:
        f.write(b'{"t":"msg","role":"assis')
    original = path.read_bytes()
    loaded = store.load("main")
    store.append("main", msg("user", "three"))
    (backup,) = store.sessions_dir.glob("main.jsonl.*.bak")
    assert backup.read_bytes() == original
    assert mode(backup) == 0o600
    now = path.read_bytes()
    assert now.startswith(original)  # appended, never rewritten
    assert now.endswith(b"\n")
    store.refresh(loaded)
    assert [m.content for m in loaded.data.messages] == ["one", "three"]
    assert len(loaded.warnings) == 1  # the torn line is reported once, not twice
    fresh = store.load("main")
    assert [m.content for m in fresh.data.messages] == ["one", "three"]
    assert len(fresh.warnings) == 1 and "line 3" in fresh.warnings[0]
    assert store.names() == ["main"]


@pytest.mark.parametrize(
    "bad",
    [
        b"this is not json",
        b'{"t":"msg","role":"system","content":"x"}',
        b'{"t":"unknown-kind"}',
        b'{"t":"msg","role":"user"}',
        b"[1, 2, 3]",
        b"\xff\xfe\x00 binary",
    ],
)
def test_corrupt_middle_line_is_skipped_with_file_and_line(tmp_path: Path, bad: bytes) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "one"))
    path = store.path("main")
    with open(path, "ab") as f:
        f.write(bad + b"\n")
    store.append("main", msg("assistant", "three"), msg("user", "four"))
    before = path.read_bytes()
    loaded = store.load("main")
    assert [m.content for m in loaded.data.messages] == ["one", "three", "four"]
    assert loaded.warnings == [
        f"1 corrupt record skipped in {path} (line 3); the file is left as it is"
    ]
    assert path.read_bytes() == before


def test_corrupt_line_warning_is_shown_on_start(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    r = run_cli(["--base-url", server.url], "hello\n")
    assert r.code == 0, r.err
    path = home / "sessions" / "main.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(2, b"{garbage\n")
    path.write_bytes(b"".join(lines))
    r = run_cli(["--base-url", server.url], ":history\n")
    assert r.code == 0
    assert f"copilot-repl: warning: 1 corrupt record skipped in {path} (line 3)" in r.err
    assert "hello" in r.out and "echo: hello" in r.out


# -- two writers ----------------------------------------------------------------

WRITER = """
import sys
from pathlib import Path
from copilot_repl.history.store import Store
store = Store(Path(sys.argv[1]))
tag = sys.argv[2]
for i in range(200):
    body = f"{tag}-{i:03d}-" + tag * 3000
    store.append("shared", {"t": "msg", "role": "user", "content": body, "ts": 0.0})
"""


def test_two_processes_appending_at_once_lose_nothing(tmp_path: Path) -> None:
    store = new_store(tmp_path, "shared")
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), tag], cwd=ROOT)
        for tag in ("a", "b")
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    recs = records(store.path("shared"))  # every line is whole JSON
    assert len(recs) == 401
    for tag in ("a", "b"):
        mine = [r["content"] for r in recs if str(r.get("content", "")).startswith(tag + "-")]
        assert mine == [f"{tag}-{i:03d}-" + tag * 3000 for i in range(200)]
    loaded = store.load("shared")
    assert len(loaded.data.messages) == 400 and loaded.warnings == []


def test_two_cli_processes_on_one_session(server: FakeServer, home: Path) -> None:
    run_proc(["--base-url", server.url, "--session", "shared"], ":ls\n")
    script = "".join(f"{{tag}} {i}\n" for i in range(15))
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "copilot_repl", "--base-url", server.url, "--session", "shared"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
        )
        for _ in range(2)
    ]
    outs = [
        p.communicate(script.format(tag=t).encode(), timeout=60)
        for p, t in zip(procs, ("alpha", "beta"), strict=True)
    ]
    assert [p.returncode for p in procs] == [0, 0], outs
    loaded = Store(home).load("shared")
    assert loaded.warnings == []
    contents = [m.content for m in loaded.data.messages]
    assert len(contents) == 60
    for tag in ("alpha", "beta"):
        assert [c for c in contents if c.startswith(tag)] == [f"{tag} {i}" for i in range(15)]
        assert len([c for c in contents if c.startswith(f"echo: {tag}")]) == 15
    # each reply on disk was sent with the other process's messages in its history
    assert max(len(r["body"]["messages"]) for r in server.requests) > 31


# -- modes ----------------------------------------------------------------------


def test_file_and_dir_modes(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = new_store(tmp_path / "data", "main")
        store.append("main", msg("user", "x"))
        store.set_current("main")
        history = store.input_history_path()
        assert history is not None
    finally:
        os.umask(old)
    assert mode(tmp_path / "data") == 0o700
    assert mode(store.sessions_dir) == 0o700
    assert mode(store.path("main")) == 0o600
    assert mode(tmp_path / "data" / "state.json") == 0o600
    assert mode(history) == 0o600


def test_existing_open_data_dir_is_left_alone_and_reported(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "sessions").mkdir(parents=True)
    root.chmod(0o755)
    (root / "sessions").chmod(0o1777)
    store = new_store(root, "main")
    store.ensure()
    assert mode(root) == 0o755 and mode(root / "sessions") == 0o1777  # not ours: not chmodded
    assert store.take_warnings() == [
        f"data dir {root / 'sessions'} can be written by other users (mode 1777); "
        f"copilot-repl leaves it as it is (chmod 700 {root / 'sessions'} if that is not intended)"
    ]
    assert mode(store.path("main")) == 0o600


def test_modes_when_a_second_process_creates_things(server: FakeServer, tmp_path: Path) -> None:
    data = tmp_path / "by-proc"
    r = run_proc(["--data-dir", str(data), "--base-url", server.url], ":new other\nhi\n")
    assert r.code == 0, r.err
    assert mode(data) == 0o700 and mode(data / "sessions") == 0o700
    for path in data.rglob("*"):
        if path.is_file():
            assert mode(path) == 0o600, path


# -- rename, delete, summaries, current -------------------------------------------


def test_rename(tmp_path: Path) -> None:
    store = new_store(tmp_path, "a", "b")
    store.append("a", msg("user", "in a"))
    store.rename("a", "c")
    assert store.names() == ["b", "c"]
    assert [m.content for m in store.load("c").data.messages] == ["in a"]
    with pytest.raises(SessionExists):
        store.rename("c", "b")
    with pytest.raises(SessionNotFound):
        store.rename("nope", "d")
    with pytest.raises(BadSessionName):
        store.rename("c", "../evil")
    assert store.names() == ["b", "c"]
    assert [m.content for m in store.load("c").data.messages] == ["in a"]


def test_delete(tmp_path: Path) -> None:
    store = new_store(tmp_path, "a", "b")
    store.delete("a")
    assert store.names() == ["b"]
    with pytest.raises(SessionNotFound):
        store.delete("a")


def test_delete_seen_by_another_reader(tmp_path: Path) -> None:
    store = new_store(tmp_path, "a")
    loaded = store.load("a")
    Store(tmp_path).delete("a")
    with pytest.raises(SessionNotFound, match="deleted"):
        store.refresh(loaded)
    with pytest.raises(SessionNotFound):
        store.append("a", msg("user", "x"))
    assert store.names() == []  # append never recreates a deleted session


def test_delete_and_recreate_by_another_process_is_noticed(tmp_path: Path) -> None:
    store = new_store(tmp_path, "a")
    store.append("a", msg("user", "x"))
    loaded = store.load("a")
    other = Store(tmp_path)
    other.delete("a")
    other.create(SessionData(name="a", model="openai:x"))
    with pytest.raises(SessionNotFound, match="removed or replaced"):
        store.refresh(loaded)


def test_summaries(tmp_path: Path) -> None:
    store = new_store(tmp_path, "b", "a")
    store.append("a", msg("user", "1"), msg("assistant", "2"))
    store.append("a", {"t": "meta", "model": "openai:newer"})
    store.append("b", msg("user", 'a tricky {"t":"msg"} content'))
    got = {s.name: (s.model, s.messages) for s in store.summaries()}
    assert got == {"a": ("openai:newer", 2), "b": ("openai:gpt-4o-mini", 1)}
    assert all(s.modified > 0 for s in store.summaries())


def test_summaries_of_unchanged_files_come_from_the_cache(tmp_path: Path) -> None:
    store = new_store(tmp_path, "a")
    store.append("a", msg("user", "1"))
    assert [(s.model, s.messages) for s in store.summaries()] == [("openai:gpt-4o-mini", 1)]
    cache = json.loads((tmp_path / "summaries.json").read_text())
    st = store.path("a").stat()
    assert cache["a"] == {
        "key": [st.st_size, st.st_mtime_ns, st.st_ino],
        "model": "openai:gpt-4o-mini",
        "messages": 1,
        "created": 1000.0,
        "origin": "",
        "cwd": "",
        "first_prompt": "1",
    }
    assert stat.S_IMODE((tmp_path / "summaries.json").stat().st_mode) == 0o600
    # Same size, same mtime, same inode: the file is not read again.
    path = store.path("a")
    st = path.stat()
    raw = path.read_bytes()
    path.write_bytes(raw.replace(b"gpt-4o-mini", b"gpt-4o-MINI"))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert [s.model for s in store.summaries()] == ["openai:gpt-4o-mini"]
    # Any append changes the size: read again.
    store.append("a", msg("assistant", "2"))
    assert [(s.model, s.messages) for s in store.summaries()] == [("openai:gpt-4o-MINI", 2)]


def test_current(tmp_path: Path) -> None:
    store = new_store(tmp_path, "a", "b")
    assert store.current() is None
    store.set_current("b")
    assert store.current() == "b"
    store.delete("b")
    assert store.current() is None  # a stale pointer is ignored
    (tmp_path / "state.json").write_text("{not json")
    assert store.current() is None


def test_the_last_active_session_stays_so_when_renamed(tmp_path: Path) -> None:
    store = new_store(tmp_path, "a", "b")
    store.set_current("a")
    store.rename("b", "c")  # another one: the pointer is left alone
    assert store.current() == "a"
    store.rename("a", "d")
    assert store.current() == "d"


# -- replies in flight --------------------------------------------------------------


def test_part_from_a_dead_writer_loads_as_an_interrupted_reply(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    rid = f"{dead_pid()}-1-123"
    store.append("main", msg("user", "tell me a story"))
    store.append("main", {"t": "part", "id": rid, "text": "Once upon "})
    store.append("main", {"t": "part", "id": rid, "text": "a time"})
    data = store.load("main").data
    assert [(m.role, m.content, m.status) for m in data.messages] == [
        ("user", "tell me a story", DONE),
        ("assistant", "Once upon a time", INTERRUPTED),
    ]
    (summary,) = store.summaries()
    assert summary.messages == 2  # :ls counts the cut reply too


def test_part_from_a_live_writer_waits_for_its_end(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        rid = f"{proc.pid}-1-123"
        store.append("main", msg("user", "q"), {"t": "part", "id": rid, "text": "grow"})
        loaded = store.load("main")
        assert [m.content for m in loaded.data.messages] == ["q"]
        assert store.summaries()[0].messages == 1
        store.append("main", msg("assistant", "growing done", id=rid))
        assert store.summaries()[0].messages == 2
        store.refresh(loaded)
        assert [(m.content, m.status) for m in loaded.data.messages] == [
            ("q", DONE),
            ("growing done", DONE),
        ]
    finally:
        proc.kill()
        proc.wait()


def test_final_message_after_a_dead_part_is_not_doubled(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    rid = f"{dead_pid()}-1-1"
    store.append("main", msg("user", "q"), {"t": "part", "id": rid, "text": "half"})
    loaded = store.load("main")
    # the same id's final msg (e.g. written by a process we thought dead) is ignored
    store.append("main", msg("assistant", "half and more", id=rid, status=DONE))
    store.refresh(loaded)
    assert [(m.content, m.status) for m in loaded.data.messages] == [
        ("q", DONE),
        ("half", INTERRUPTED),
    ]
    assert store.summaries()[0].messages == 2


def test_removed_session_in_another_process_is_reported_on_the_next_turn(
    server: FakeServer, home: Path
) -> None:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.errors import ReplError

    env = {"OPENAI_BASE_URL": server.url}

    async def scenario() -> str:
        async with CopilotClient(data_dir=home, env=env) as one:
            s = await one.create_session(session_id="doomed")
            await s.send_and_wait("first")
            async with CopilotClient(data_dir=home, env=env) as two:
                await two.delete_session("doomed")
            try:
                await s.send_and_wait("second")
            except ReplError as exc:
                return str(exc)
            return "no error"

    assert "doomed" in asyncio.run(scenario())
    assert not (home / "sessions" / "doomed.jsonl").exists()


def test_a_fifo_as_input_history_is_not_used(tmp_path: Path) -> None:
    """Opening a FIFO for the shell's history would block prompt_toolkit."""
    store = Store(tmp_path / "data")
    store.ensure()
    os.mkfifo(store.root / "input_history")
    assert store.input_history_path() is None
    assert any("kept in memory only" in w for w in store.take_warnings())


def test_a_kept_session_is_the_next_load_brought_up_to_date(tmp_path: Path) -> None:
    """``keep``: the shell's first frame reads the session it shows and hands
    it to the client; what another process appended meanwhile is read then."""
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "one"))
    first = store.load("main")
    store.keep(first)
    Store(tmp_path).append("main", msg("assistant", "two"))  # another process
    again = store.load("main")
    assert again is first
    assert [m.content for m in again.data.messages] == ["one", "two"]
    assert store.load("main") is not first  # kept for one load only


def test_a_kept_session_replaced_meanwhile_is_read_again(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "old"))
    kept = store.load("main")
    store.keep(kept)
    other = Store(tmp_path)
    other.delete("main")
    other.create(SessionData(name="main", model="openai:echo", created=2000.0))
    other.append("main", msg("user", "new"))
    loaded = store.load("main")
    assert loaded is not kept
    assert loaded.data.model == "openai:echo"
    assert [m.content for m in loaded.data.messages] == ["new"]


def test_a_damaged_file_is_not_read_again_at_each_listing_until_it_changes(
    tmp_path: Path,
) -> None:
    """``listed`` runs at every toolbar redraw: a file whose origin cannot be
    read is read again only once it changes (repaired), not at every call."""
    store = new_store(tmp_path, "main", "other")
    store.mark_origin("other", "oneshot")
    bad = store.path("bad")
    bad.write_bytes(b"not a session\n")
    opened: list[str] = []
    watching = [True]

    def audit(event: str, args: tuple[object, ...]) -> None:
        if watching[0] and event == "open" and str(args[0]) == str(bad):
            opened.append(event)

    sys.addaudithook(audit)  # hooks stay for the process: this one goes quiet below
    try:
        assert store.listed() == ["bad", "main"]
        first = len(opened)
        assert first > 0  # read once to learn its origin
        assert store.listed() == ["bad", "main"]
        assert store.listed(also="other") == ["bad", "main", "other"]
        assert len(opened) == first  # not again: it has not changed
        elsewhere = new_store(tmp_path / "elsewhere", "bad")
        elsewhere.mark_origin("bad", "compare")
        bad.write_bytes(elsewhere.path("bad").read_bytes())  # repaired: read again
        assert store.listed() == ["main"]  # a comparison's: not listed
        assert len(opened) > first
    finally:
        watching[0] = False
