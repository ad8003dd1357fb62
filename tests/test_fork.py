"""Forks as a store operation: a new session with a copy of the history up to
a message, recording its parent and fork point; crash-safe."""

from __future__ import annotations

import json
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
from copilot_repl.history import compact
from copilot_repl.history.fork import fork, fork_info, tree
from copilot_repl.history.messages import SessionData
from copilot_repl.history.store import Store


def chat(root: Path, name: str = "main", turns: int = 3) -> Store:
    store = Store(root)
    store.create(SessionData(name=name, model="openai:gpt-4o-mini", system="be brief"))
    for i in range(1, turns + 1):
        store.append(name, msg("user", f"question {i}"))
        store.append(name, msg("assistant", f"answer {i}", id=f"r{i}", tokens=3))
    return store


def test_fork_copies_all_and_records_the_parent(tmp_path: Path) -> None:
    store = chat(tmp_path)
    loaded = fork(store, "main", "alt")
    assert [m.content for m in loaded.data.messages] == [
        m.content for m in store.load("main").data.messages
    ]
    assert loaded.data.system == "be brief" and loaded.data.model == "openai:gpt-4o-mini"
    assert loaded.warnings == []
    info = fork_info(store, "alt")
    assert info is not None and (info.parent, info.at) == ("main", 6)
    assert fork_info(store, "main") is None


def test_fork_at_a_message_with_another_model_and_system(tmp_path: Path) -> None:
    store = chat(tmp_path)
    loaded = fork(store, "main", "alt", at=3, model="ollama:llama3.2", system="be long")
    assert [m.content for m in loaded.data.messages] == ["question 1", "answer 1", "question 2"]
    assert (loaded.data.model, loaded.data.system) == ("ollama:llama3.2", "be long")
    # the fork is a session like any other: it can be appended to, the parent is untouched
    store.append("alt", msg("assistant", "another answer 2"))
    assert len(store.load("alt").data.messages) == 4
    assert len(store.load("main").data.messages) == 6
    assert fork(store, "main", "empty", at=0).data.messages == []


def test_fork_refuses_bad_requests(tmp_path: Path) -> None:
    store = chat(tmp_path)
    store.create(SessionData(name="taken", model="openai:x"))
    with pytest.raises(SessionExists):
        fork(store, "main", "taken")
    with pytest.raises(UsageError):
        fork(store, "main", "alt", at=7)
    with pytest.raises(SessionNotFound):
        fork(store, "nope", "alt")
    assert sorted(store.names()) == ["main", "taken"]


def test_a_fork_of_a_fork_and_the_tree(tmp_path: Path) -> None:
    store = chat(tmp_path)
    store.create(SessionData(name="other", model="openai:x"))
    fork(store, "main", "b", at=2)
    fork(store, "b", "c", at=1)
    fork(store, "main", "a")
    assert [(d, n) for d, n, _ in tree(store)] == [
        (0, "main"),
        (1, "a"),
        (1, "b"),
        (2, "c"),
        (0, "other"),
    ]
    store.delete("main")  # orphans become roots
    assert [(d, n) for d, n, _ in tree(store)] == [(0, "a"), (0, "b"), (1, "c"), (0, "other")]


def test_old_readers_ignore_the_fork_key(tmp_path: Path) -> None:
    store = chat(tmp_path)
    fork(store, "main", "alt", at=2)
    header = json.loads(store.path("alt").read_bytes().split(b"\n")[0])
    assert header["fork"]["parent"] == "main" and header["fork"]["at"] == 2
    assert header["file_id"]
    assert store.load("alt").warnings == []


def test_a_compaction_within_the_copied_part_comes_along(tmp_path: Path) -> None:
    store = chat(tmp_path)
    messages = store.load("main").data.messages
    store.append("main", compact.make(messages, 2, "they said hi", model="m", ts=5.0).record())
    full = fork(store, "main", "full")
    kept = compact.current(compact.read_compactions(store.path("full")), full.data.messages)
    assert kept is not None and kept.upto == 2
    fork(store, "main", "short", at=2)  # nothing after the summary: it would replace all
    assert compact.read_compactions(store.path("short")) == []


CRASHER = """
import sys
from pathlib import Path
from copilot_repl.history.store import Store
from copilot_repl.history.fork import fork
store = Store(Path(sys.argv[1]))
print("ready", flush=True)
i = 0
while True:
    fork(store, "main", f"f{i}")
    i += 1
"""


def test_kill_9_during_forks_leaves_only_whole_sessions(tmp_path: Path) -> None:
    store = chat(tmp_path, turns=200)
    expected = [m.content for m in store.load("main").data.messages]
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASHER, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    while len(os.listdir(tmp_path / "sessions")) < 6:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    names = store.names()
    assert len(names) >= 4
    for name in names:
        loaded = store.load(name)
        assert loaded.warnings == []
        assert [m.content for m in loaded.data.messages] == expected
    # the temp file of the killed process is swept; no name was left half made
    assert all(not p.name.endswith(".tmp") for p in (tmp_path / "sessions").iterdir()), (
        "a dead process's temp file is left"
    )


def test_the_shell_completes_message_numbers() -> None:
    from copilot_repl.repl.commands import command_groups
    from copilot_repl.repl.completion import Sources, suggest
    from copilot_repl.repl.registry import Registry

    commands = Registry(*command_groups(None)).commands
    src = Sources(commands, ["main", "other"], [], counts={"main": 3, "other": 12}, current="main")
    assert suggest(":switch main@", src) == ("main@", ["main@1", "main@2", "main@3"])
    assert suggest(":switch other@1", src)[1] == ["other@1", "other@10", "other@11", "other@12"]
    assert suggest(":fork alt @", src) == ("@", ["@0", "@1", "@2", "@3"])
    assert suggest(":fork alt --model ", src)[1] == []
