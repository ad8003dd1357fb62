"""The trash: :rm and :clear keep what they remove; restore brings it back;
purge (and vacuum) make the text leave the disk; crashes and a second
process lose nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT
from helpers import msg

from copilot_repl.errors import SessionExists, SessionNotFound, UsageError
from copilot_repl.history import trash
from copilot_repl.history.fork import fork, fork_info
from copilot_repl.history.messages import SessionData
from copilot_repl.history.search import SearchIndex
from copilot_repl.history.store import Store

SECRET = "sk-live-9fQx2LmZ7rTb4WcY"


def chat(root: Path, name: str = "main", *texts: str) -> Store:
    store = Store(root)
    store.create(SessionData(name=name, model="ollama:llama3.2", system="terse"))
    for i, text in enumerate(texts or ("hello", "hi there")):
        store.append(name, msg("user" if i % 2 == 0 else "assistant", text))
    return store


def contents(store: Store, name: str) -> list[str]:
    return [m.content for m in store.load(name).data.messages]


def disk_has(root: Path, needle: str) -> list[str]:
    hits = []
    for dirpath, _, names in os.walk(root):
        for n in names:
            p = Path(dirpath) / n
            if needle.encode() in p.read_bytes():
                hits.append(str(p.relative_to(root)))
    return hits


def test_rm_moves_to_the_trash_and_restore_brings_it_back(tmp_path: Path) -> None:
    store = chat(tmp_path)
    store.append("main", {"t": "meta", "model": "openai:gpt-4o"})
    entry = trash.trash_session(store, "main")
    assert not store.exists("main")
    assert [(e.name, e.kind) for e in trash.entries(store)] == [("main", "rm")]
    assert trash.find(store, "main") == entry == trash.find(store, entry.id)
    assert trash.restore(store, entry) == "main"
    loaded = store.load("main")
    assert contents(store, "main") == ["hello", "hi there"]
    assert (loaded.data.model, loaded.data.system) == ("openai:gpt-4o", "terse")
    assert trash.entries(store) == []
    with pytest.raises(SessionNotFound):
        trash.find(store, "main")


def test_restore_never_overwrites_a_session(tmp_path: Path) -> None:
    store = chat(tmp_path)
    entry = trash.trash_session(store, "main")
    store.create(SessionData(name="main", model="openai:x"))
    with pytest.raises(SessionExists, match="--as"):
        trash.restore(store, entry)
    assert trash.restore(store, entry, as_name="main2") == "main2"
    assert contents(store, "main2") == ["hello", "hi there"] and contents(store, "main") == []


def test_clear_keeps_the_cleared_messages_and_restore_puts_them_back(tmp_path: Path) -> None:
    store = chat(tmp_path, "main", "one", "two", "three", "four")
    loaded = store.load("main")
    entry = trash.trash_messages(store, loaded, keep=1)
    assert entry is not None and entry.kind == "clear"
    store.truncate(loaded, 1)
    store.append("main", msg("assistant", "new two"))
    assert contents(store, "main") == ["one", "new two"]
    assert [m.content for m in trash.load_entry(entry).data.messages] == ["two", "three", "four"]
    trash.restore(store, entry)
    assert contents(store, "main") == ["two", "three", "four", "one", "new two"]
    assert store.load("main").warnings == []
    assert trash.trash_messages(store, store.load("main"), keep=5) is None


def test_restore_of_a_clear_after_the_session_is_gone(tmp_path: Path) -> None:
    store = chat(tmp_path)
    entry = trash.trash_messages(store, store.load("main"))
    assert entry is not None
    store.delete("main")
    trash.restore(store, entry)
    assert contents(store, "main") == ["hello", "hi there"]


def test_purging_an_rm_removes_every_copy_of_the_text(tmp_path: Path) -> None:
    store = chat(tmp_path, "main", f"my key is {SECRET}", "noted")
    other = chat(tmp_path, "other", "unrelated words")
    with SearchIndex(store) as index:
        assert [h.session for h in index.search(SECRET)] == ["main"]
        entry = trash.trash_session(store, "main")
        assert disk_has(tmp_path, SECRET)
        done = trash.purge(store, entry)
        index.forget("main")
        assert done.entries == 1
        assert index.search(SECRET) == []
        assert index.search("unrelated")
    assert disk_has(tmp_path, SECRET) == []
    assert other.exists("other") and trash.entries(store) == []


def test_clear_then_purge_leaves_no_trace_but_keeps_the_session(tmp_path: Path) -> None:
    store = chat(tmp_path, "main", "keep me", "kept", f"oops {SECRET}", "careful")
    # a torn line repaired earlier left a .bak copy holding the secret too
    with open(store.path("main"), "ab") as f:
        f.write(b'{"t":"msg","role":"user","content":"torn')
    store.append("main", msg("user", "after the tear"))
    assert any(p.name.endswith(".bak") for p in (tmp_path / "sessions").iterdir())
    loaded = store.load("main")
    entry = trash.trash_messages(store, loaded, keep=2)
    assert entry is not None
    store.truncate(loaded, 2)
    store.append("main", msg("assistant", "fresh start"))
    before = store.load("main").data
    assert SECRET not in str([m.content for m in before.messages])
    assert disk_has(tmp_path, SECRET)  # hidden by truncate, still in the file and the trash
    done = trash.purge(store, entry)
    assert done.rewritten == ("main",) and done.backups == 1
    assert disk_has(tmp_path, SECRET) == []
    after = store.load("main")
    assert after.warnings == []
    assert [(m.role, m.content) for m in after.data.messages] == [
        (m.role, m.content) for m in before.messages
    ]
    assert (after.data.model, after.data.system) == (before.model, before.system)


def test_vacuum_keeps_fork_info_and_is_a_no_op_when_clean(tmp_path: Path) -> None:
    store = chat(tmp_path)
    fork(store, "main", "alt", at=1)
    raw = store.path("alt").read_bytes()
    assert trash.vacuum(store, "alt").rewritten == ()
    assert store.path("alt").read_bytes() == raw
    store.append("alt", {"t": "meta", "model": "openai:o3"})
    assert trash.vacuum(store, "alt").rewritten == ("alt",)
    assert b"meta" not in store.path("alt").read_bytes()
    assert store.load("alt").data.model == "openai:o3"
    info = fork_info(store, "alt")
    assert info is not None and (info.parent, info.at) == ("main", 1)
    raw = store.path("alt").read_bytes()
    assert trash.vacuum(store, "alt").rewritten == ()
    assert store.path("alt").read_bytes() == raw


def test_vacuum_refuses_while_a_reply_streams(tmp_path: Path) -> None:
    store = chat(tmp_path)
    store.append("main", {"t": "part", "id": f"{os.getpid()}-x-1", "text": "half"})
    from copilot_repl.history.store import PROCESS_TOKEN

    store.append("main", {"t": "part", "id": f"{PROCESS_TOKEN}-9", "text": "streaming"})
    with pytest.raises(UsageError, match="streaming"):
        trash.vacuum(store, "main")


def test_purge_older_purges_only_old_entries_and_says_which(tmp_path: Path) -> None:
    store = chat(tmp_path)
    chat(tmp_path, "b")
    old = trash.trash_session(store, "main")
    trash.trash_session(store, "b")
    week = 7 * 86400 * 10**9
    os.rename(old.path, old.path.with_name(f"main~{old.stamp - week}~rm.jsonl"))
    now = time.time()
    assert trash.purge_older(store, days=8, now=now) == ([], [])
    gone, kept = trash.purge_older(store, days=6, now=now)
    assert [e.name for e in gone] == ["main"] and kept == []
    assert [e.name for e in trash.entries(store)] == ["b"]


def test_other_files_in_the_trash_are_ignored(tmp_path: Path) -> None:
    store = chat(tmp_path)
    trash.trash_session(store, "main")
    (tmp_path / "trash" / "notes.txt").write_text("x")
    (tmp_path / "trash" / "bad name~1~rm.jsonl").write_text("x")
    assert [e.name for e in trash.entries(store)] == ["main"]
    assert os.stat(tmp_path / "trash").st_mode & 0o077 == 0


CRASHER = """
import sys
from pathlib import Path
from copilot_repl.history import trash
from copilot_repl.history.store import Store
store = Store(Path(sys.argv[1]))
print("ready", flush=True)
while True:
    trash.restore(store, trash.trash_session(store, "main"))
    loaded = store.load("main")
    e = trash.trash_messages(store, loaded)
    store.truncate(loaded, 0)
    trash.restore(store, e)
"""


def test_kill_9_during_rm_clear_and_restore_loses_nothing(tmp_path: Path) -> None:
    texts = [f"message {i}" for i in range(40)]
    store = chat(tmp_path, "main", *texts)
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    time.sleep(0.3)  # let it go round a few times (any moment will do)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # Whatever the moment: the session is whole, in place or in the trash;
    # every message can be brought back.
    if not store.exists("main"):
        trash.restore(store, trash.find(store, "main"))
    while set(texts) - set(contents(store, "main")):
        e = next(e for e in trash.entries(store) if e.name == "main")
        trash.restore(store, e)
    assert store.load("main").warnings == []
    for e in trash.entries(store):
        assert trash.load_entry(e).warnings == []


TWIN = """
import sys
from pathlib import Path
from copilot_repl.history import trash
from copilot_repl.history.store import Store
from copilot_repl.history.messages import SessionData
store = Store(Path(sys.argv[1]))
me = sys.argv[2]
for i in range(30):
    name = f"{me}{i}"
    store.create(SessionData(name=name, model="openai:x"))
    store.append(name, {"t": "msg", "role": "user", "content": f"{name} text"})
    e = trash.trash_session(store, name)
    if i % 2:
        trash.restore(store, e)
"""


def test_two_processes_using_the_trash_at_once_lose_nothing(tmp_path: Path) -> None:
    Store(tmp_path).ensure()
    procs = [
        subprocess.Popen([sys.executable, "-c", TWIN, str(tmp_path), who], cwd=ROOT)
        for who in ("a", "b")
    ]
    assert [p.wait() for p in procs] == [0, 0]
    store = Store(tmp_path)
    live = set(store.names())
    trashed = {e.name for e in trash.entries(store)}
    everyone = {f"{w}{i}" for w in "ab" for i in range(30)}
    assert live | trashed == everyone and not live & trashed
    assert live == {f"{w}{i}" for w in "ab" for i in range(1, 30, 2)}


def test_trash_days_purges_old_items_at_start_up_and_says_so(home: Path) -> None:
    from conftest import run_cli

    store = chat(home, "old")
    chat(home, "recent")
    entry = trash.trash_session(store, "old")
    os.rename(entry.path, entry.path.with_name(f"old~{entry.stamp - 40 * 86400 * 10**9}~rm.jsonl"))
    trash.trash_session(store, "recent")
    (home / "config.toml").write_text("trash_days = 30\n")
    r = run_cli(["--base-url", "http://127.0.0.1:9/v1"], ":trash\n")
    assert r.code == 0, r.err
    assert "purged 1 trash items older than 30 days (old) (trash_days)" in r.err
    assert [e.name for e in trash.entries(store)] == ["recent"]
    assert "recent~" in r.out and "old~" not in r.out


def test_commands_rm_restore_clear_purge_in_script_mode(home: Path) -> None:
    from conftest import run_cli

    store = chat(home, "main", f"key {SECRET}", "ok")
    chat(home, "other", "x", "y")
    script = ":rm other\n:trash\n:restore other\n:switch main\n:clear --purge\n:history\n"
    r = run_cli(["--session", "main", "--base-url", "http://127.0.0.1:9/v1"], script)
    assert r.code == 0, r.err
    assert "moved other to the trash" in r.err and "restored session other" in r.err
    assert "cleared main (2 messages): removed from the disk" in r.err
    assert store.load("other").data.messages and store.load("main").data.messages == []
    assert disk_has(home, SECRET) == []
    r = run_cli(["--base-url", "http://127.0.0.1:9/v1"], ":rm other --purge\n:trash\n")
    assert "deleted other for good" in r.err and "the trash is empty" in r.err
    assert not store.exists("other")


def test_the_shell_completes_trash_entries() -> None:
    from copilot_repl.repl.commands import command_groups
    from copilot_repl.repl.completion import Sources, suggest
    from copilot_repl.repl.registry import Registry

    commands = Registry(*command_groups(None)).commands
    src = Sources(commands, ["main"], [], trash=["old", "other", "old~17", "other~18"])
    assert suggest(":restore o", src) == ("o", ["old", "other", "old~17", "other~18"])
    assert suggest(":restore old~", src) == ("old~", ["old~17"])
    assert suggest(":trash rm ot", src) == ("ot", ["other", "other~18"])
    assert suggest(":trash empty ", src) == ("", [])
    assert suggest(":trash ", src) == ("", ["empty", "rm"])
    assert suggest(":restore old ", src) == ("", [])
