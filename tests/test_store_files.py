"""Files the store does not own: symlinks, FIFOs and stray names in
``sessions/``, a bad ``state.json``, a data dir that is not ours or cannot be
entered, and a rename cut short (one file under two names)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from helpers import msg, new_store

from copilot_repl.errors import SessionNotFound, StoreError
from copilot_repl.history.files import write_output
from copilot_repl.history.store import Store


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- symlinks -----------------------------------------------------------------------


def test_a_symlinked_session_file_is_never_followed(tmp_path: Path) -> None:
    elsewhere = new_store(tmp_path / "elsewhere", "target")
    target = elsewhere.path("target")
    with open(target, "ab") as f:
        f.write(b'{"t":"msg","role":"user","cont')  # torn: an append would copy and fix it
    before = target.read_bytes()
    store = new_store(tmp_path / "data", "main")
    link = store.sessions_dir / "linked.jsonl"
    link.symlink_to(target)
    with pytest.raises(StoreError, match=r"linked.jsonl is a symbolic link; copilot-repl does not"):
        store.load("linked")
    with pytest.raises(StoreError, match="is a symbolic link"):
        store.append("linked", msg("user", "never written there"))
    assert target.read_bytes() == before
    assert sorted(p.name for p in store.sessions_dir.iterdir()) == ["linked.jsonl", "main.jsonl"]
    assert list(elsewhere.sessions_dir.glob("*.bak")) == []  # the target was not copied
    assert store.names() == ["main"]
    assert [s.name for s in store.summaries()] == ["main"]
    assert store.take_warnings() == [
        f"{link} is a symbolic link; copilot-repl does not open it (move it out of the way); "
        "skipped"
    ]
    store.delete("linked")  # :rm removes the link, never the target
    assert target.read_bytes() == before and not link.is_symlink()


# -- FIFOs and stray names ---------------------------------------------------------

LISTING = """
import sys
from pathlib import Path
from copilot_repl.errors import ReplError
from copilot_repl.history.store import Store
store = Store(Path(sys.argv[1]))
print(store.names())
print([s.name for s in store.summaries()])
print(store.current())
try:
    store.load("pipe")
except ReplError as exc:
    print(type(exc).__name__, exc)
for w in store.take_warnings():
    print("warning:", w)
"""


def test_a_fifo_in_sessions_neither_hangs_nor_breaks_listing(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    fifo = store.sessions_dir / "pipe.jsonl"
    os.mkfifo(fifo)
    store.set_current("pipe")
    done = subprocess.run(  # a child: a hang fails the test instead of stopping the run
        [sys.executable, "-c", LISTING, str(tmp_path)],
        capture_output=True,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.decode().splitlines() == [
        "['main']",
        "['main']",
        "None",  # state.json names it, but it is no session
        f"NotRegular {fifo} is a FIFO; copilot-repl does not open it (move it out of the way)",
        f"warning: {fifo} is a FIFO; copilot-repl does not open it (move it out of the way); "
        "skipped",
    ]


def test_stray_files_in_sessions_are_skipped_and_reported_once(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "hello"))
    shutil.copy(store.path("main"), store.sessions_dir / "main (copy).jsonl")
    (store.sessions_dir / "con.jsonl").write_text("")
    (store.sessions_dir / "notes.txt").write_text("not a session")
    (store.sessions_dir / "dir.jsonl").mkdir()
    assert store.names() == ["main"]
    assert [(s.name, s.messages) for s in store.summaries()] == [("main", 1)]
    warnings = store.take_warnings()
    assert len(warnings) == 3
    assert any("main (copy).jsonl skipped: 'main (copy)' is not a valid" in w for w in warnings)
    assert any("con.jsonl skipped: 'con' is not a valid session name" in w for w in warnings)
    assert any("dir.jsonl is a directory" in w for w in warnings)
    store.names()
    store.summaries()
    assert store.take_warnings() == []  # once per process


@pytest.mark.parametrize(
    "state",
    [
        {"current": "../x"},
        {"current": "con"},
        {"current": ["x"]},
        {"current": {"a": 1}},
        {"current": 5},
        {"current": "a" * 100},
        ["main"],
        "main",
        None,
    ],
)
def test_state_json_naming_no_valid_session_is_ignored(tmp_path: Path, state: object) -> None:
    store = new_store(tmp_path, "main")
    (tmp_path / "state.json").write_text(json.dumps(state))
    assert store.current() is None


def test_state_json_as_a_fifo_or_deeply_nested_is_ignored(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    (tmp_path / "state.json").write_text("[" * 100_000)
    assert store.current() is None
    (tmp_path / "state.json").unlink()
    os.mkfifo(tmp_path / "state.json")
    assert store.current() is None  # not a hang
    (tmp_path / "summaries.json").write_text('{"main": [1, 2, 3, ["x"], {"y": 1}]}')
    assert [(s.name, s.model) for s in store.summaries()] == [("main", "openai:gpt-4o-mini")]


# -- the data dir -----------------------------------------------------------------


def test_dirs_it_creates_are_0700_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        store = new_store(tmp_path / "a" / "data", "main")
    finally:
        os.umask(old)
    assert mode(tmp_path / "a" / "data") == 0o700
    assert mode(store.sessions_dir) == 0o700
    assert mode(store.path("main")) == 0o600
    assert store.take_warnings() == []


def test_an_existing_world_writable_dir_keeps_its_mode_and_sticky_bit(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)
    link = tmp_path / "link"
    link.symlink_to(shared)
    store = Store(link)
    store.ensure()
    assert mode(shared) == 0o1777  # not chmodded, even through the symlink
    assert mode(shared / "sessions") == 0o700  # the one it created
    (warning,) = store.take_warnings()
    assert warning.startswith(f"data dir {link} can be written by other users (mode 1777)")


def _no_dac() -> list[str] | None:
    """A command prefix that makes a child unable to bypass file permissions."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", "--"]


UNENTERABLE = """
import sys
from pathlib import Path
from copilot_repl.errors import ReplError
from copilot_repl.history.store import Store
store = Store(Path(sys.argv[1]))
for what in ("ensure()", "exists('main')", "names()", "current()", "summaries()", "load('main')"):
    try:
        print(what, "->", eval("store." + what))
    except ReplError as exc:
        print(what, "->", type(exc).__name__, exc)
"""


def test_a_data_dir_that_cannot_be_entered_gives_one_clear_error(tmp_path: Path) -> None:
    prefix = _no_dac()
    if prefix is None:
        pytest.skip("running as root without setpriv: permissions cannot be tested")
    data = tmp_path / "data"
    new_store(data, "main")
    data.chmod(0)
    try:
        done = subprocess.run(
            [*prefix, sys.executable, "-c", UNENTERABLE, str(data)],
            capture_output=True,
            cwd=ROOT,
            timeout=60,
            check=False,
        )
    finally:
        data.chmod(0o700)
    assert done.returncode == 0, done.stderr.decode()
    lines = done.stdout.decode().splitlines()
    sessions = data / "sessions"
    assert lines == [
        f"ensure() -> StoreError cannot create data dir {sessions}: "
        "the data dir is read-only or not writable",
        f"exists('main') -> StoreError cannot read {sessions}/main.jsonl: "
        "the data dir is read-only or not writable",
        "names() -> []",
        "current() -> None",
        "summaries() -> []",
        f"load('main') -> StoreError cannot read {sessions}/main.jsonl: "
        "the data dir is read-only or not writable",
    ]


# -- a rename cut short -------------------------------------------------------------


def test_a_rename_cut_short_between_link_and_unlink_is_completed(tmp_path: Path) -> None:
    store = new_store(tmp_path, "old")
    store.append("old", msg("user", "kept"))
    os.link(store.path("old"), store.path("new"))  # kill -9 after link(), before unlink()
    assert [(s.name, s.messages) for s in store.summaries()] == [("new", 1)]
    assert store.names() == ["new"]
    assert store.take_warnings() == [
        "renaming session 'old' to 'new' was cut short (a crash?); the rename is now complete"
    ]
    fresh = Store(tmp_path)
    assert fresh.load("new").warnings == []
    assert os.stat(store.path("new")).st_nlink == 1


def test_loading_the_old_name_of_a_rename_cut_short_gives_the_new_one(tmp_path: Path) -> None:
    store = new_store(tmp_path, "old")
    store.append("old", msg("user", "kept"))
    os.link(store.path("old"), store.path("new"))
    loaded = store.load("old")
    assert loaded.data.name == "new" and loaded.warnings == []
    assert store.take_warnings() == [
        "renaming session 'old' to 'new' was cut short (a crash?); the rename is now complete"
    ]
    assert [m.content for m in loaded.data.messages] == ["kept"]
    assert store.names() == ["new"]
    store.append("new", msg("user", "more"), loaded=loaded)
    assert [m.content for m in store.load("new").data.messages] == ["kept", "more"]


def test_one_file_under_two_names_that_cannot_be_told_apart_is_reported(tmp_path: Path) -> None:
    store = new_store(tmp_path, "first")
    store.rename("first", "second")
    os.link(store.path("second"), store.path("third"))  # neither is the created name
    assert sorted(s.name for s in store.summaries()) == ["second", "third"]
    (warning,) = store.take_warnings()
    assert warning.startswith("sessions 'second', 'third' are one file under 2 names")
    store.delete("third")  # the advice works: the other name keeps everything
    assert store.load("second").warnings == []


def test_rename_is_one_step_and_never_overwrites(tmp_path: Path) -> None:
    store = new_store(tmp_path, "a", "b")
    store.append("a", msg("user", "in a"))
    loaded = store.load("a")
    store.rename("a", "c", loaded)
    assert loaded.data.name == "c" and store.names() == ["b", "c"]
    assert os.stat(store.path("c")).st_nlink == 1
    with pytest.raises(Exception, match="already exists"):
        store.rename("c", "b")
    with pytest.raises(SessionNotFound):
        store.rename("a", "d")
    store.append("c", msg("user", "more"), loaded=loaded)
    assert [m.content for m in loaded.data.messages] == ["in a", "more"]


def test_a_file_the_user_named_is_written_whole_and_private(tmp_path: Path) -> None:
    path = tmp_path / "out.md"
    write_output(path, "one\n", overwrite=False)
    assert path.read_text() == "one\n" and stat.S_IMODE(path.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        write_output(path, "two\n", overwrite=False)
    assert path.read_text() == "one\n"
    write_output(path, "two\n", overwrite=True)
    assert path.read_text() == "two\n"
    # a symlink is replaced, never written through
    target = tmp_path / "target"
    target.write_text("kept")
    link = tmp_path / "link.md"
    link.symlink_to(target)
    with pytest.raises(FileExistsError):
        write_output(link, "x", overwrite=False)
    write_output(link, "x", overwrite=True)
    assert target.read_text() == "kept" and not link.is_symlink() and link.read_text() == "x"
    with pytest.raises(StoreError, match=r"^cannot write .*missing/out\.md: No such file"):
        write_output(tmp_path / "missing" / "out.md", "x", overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.md", "out.md", "target"]
