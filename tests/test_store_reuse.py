"""What the store learns when it reads a session is used again: a session of
a megabyte or more gets an index sidecar at its first read (``:ls``'s, a
start's), so a ``:switch`` to it later reads the index and not its records;
``:ls`` takes an unchanged file's summary from ``summaries.json`` as it was
written. Whichever way a session or its summary is found, it is the same.

The index tests at the real threshold write a file of about 1 MB; the
others set the thresholds of a long session to a few KB (sizes, not
behaviour), as ``test_long_sessions.py`` does."""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from helpers import msg, new_store
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot_repl.history import index, log, reader, summaries
from copilot_repl.history.messages import Message
from copilot_repl.history.reader import Loaded
from copilot_repl.history.records import parse
from copilot_repl.history.store import Store
from copilot_repl.sanitize import _TABLE, clean

MODEL = "openai:gpt-4o-mini"
DEAD = "4194309-0badc0de-"  # above any pid: its parts are a dead writer's


@contextmanager
def small(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(log, "TAIL_BYTES", 2048)
    monkeypatch.setattr(log, "READ_BEHIND", 3)
    monkeypatch.setattr(reader, "PIECE", 1024)
    monkeypatch.setattr(index, "INDEX_MIN", 1024)
    monkeypatch.setattr(index, "REINDEX", 1024)
    yield


def _file(records: list[dict[str, Any] | bytes], file_id: str = "f" * 16) -> bytes:
    header = {"t": "session", "schema": 2, "file_id": file_id, "model": MODEL, "created": 5.0}
    lines = [json.dumps(header).encode()]
    lines += [r if isinstance(r, bytes) else json.dumps(r).encode() for r in records]
    return b"\n".join(lines) + b"\n"


def _after_header(records: list[dict[str, Any] | bytes]) -> bytes:
    return _file(records).split(b"\n", 1)[1]


def _put(root: Path, name: str, data: bytes) -> Store:
    store = Store(root)
    store.ensure()
    (store.sessions_dir / f"{name}.jsonl").write_bytes(data)
    return store


def _session(loaded: Loaded) -> dict[str, Any]:
    data = loaded.data

    def one(m: Message) -> tuple[Any, ...]:
        return (m.role, m.content, m.ts, m.status, m.model, m.tokens, m.id, m.eid, m.tools)

    return {
        "head": (data.model, data.system, data.created, data.tools),
        "messages": [one(m) for m in data.messages],
        "newest": [one(data.messages[i]) for i in range(-min(3, len(data.messages)), 0)],
        "log": [one(e) if isinstance(e, Message) else e for e in data.log],
        "state": (loaded.offset, loaded.lineno, loaded.generation, loaded.failed, loaded.origin),
        "compactions": loaded.compactions,
        "warned": bool(loaded.warnings),
    }


def _megabyte(turns: int) -> list[dict[str, Any] | bytes]:
    """``turns`` exchanges of about 1 KB each, an event and a corrupt line
    among them (skipped, as every read must skip them)."""
    out: list[dict[str, Any] | bytes] = []
    for i in range(turns):
        out.append(msg("user", f"question {i} " + "q" * 200))
        out.append({"t": "ev", "type": "assistant.turn_start", "id": f"e{i}", "ts": "T"})
        out.append(msg("assistant", f"answer {i} " + "a" * 600, id=f"r{i}", tokens=i))
        if i == turns // 2:
            out.append(b'{"t":"msg","role":"nobody"}')
    return out


def _through_index(loaded: Loaded) -> bool:
    """Whether every entry of the log came from an index (none parsed)."""
    return len(loaded.data.log) > 0 and loaded.data.log.head == len(loaded.data.log)


# -- the index sidecar at its real size ----------------------------------------------


def test_a_megabyte_session_read_by_ls_is_switched_to_through_its_index(tmp_path: Path) -> None:
    data = _file(_megabyte(1200))
    assert len(data) >= index.INDEX_MIN
    with tempfile.TemporaryDirectory() as tmp:  # the reference: read whole, no index kept
        want = _session(_put(Path(tmp), "big", data).load("big"))
    store = _put(tmp_path, "big", data)
    (summary,) = store.summaries()  # :ls, or the toolbar at start: reads it whole
    assert summary.messages == 2400
    assert len(list((tmp_path / index.INDEX_DIR).glob("*.idx"))) == 1
    later = Store(tmp_path).load("big")  # :switch, in this or another process
    assert _through_index(later)
    assert _session(later) == want
    assert "skipped" in " ".join(later.warnings)  # the corrupt line is still reported


def test_a_session_under_a_megabyte_has_no_index(tmp_path: Path) -> None:
    data = _file(_megabyte(100))
    assert len(data) < index.INDEX_MIN
    store = _put(tmp_path, "s", data)
    store.load("s")
    store.summaries()
    assert not (tmp_path / index.INDEX_DIR).exists()


def test_an_index_is_written_again_a_megabyte_later(tmp_path: Path) -> None:
    store = _put(tmp_path, "big", _file(_megabyte(1200)))
    store.load("big")
    (idx,) = (tmp_path / index.INDEX_DIR).glob("*.idx")
    made = idx.stat().st_ino
    with open(store.path("big"), "ab") as f:  # grown by a few turns
        f.write(_after_header(_megabyte(20)))
    grown = store.load("big")
    assert idx.stat().st_ino == made  # what came after is read; the index kept
    assert not _through_index(grown) and len(grown.data.messages) == 2440
    with open(store.path("big"), "ab") as f:  # a megabyte more
        f.write(_after_header(_megabyte(1200)))
    store.load("big")
    assert idx.stat().st_ino != made  # replaced: the next open reads the index alone
    assert _through_index(Store(tmp_path).load("big"))


# -- summaries, however they are found ----------------------------------------------

_words = st.text(alphabet='ab \n"\\é😀\x1b', max_size=60)


@st.composite
def _record(draw: st.DrawFn) -> dict[str, Any] | bytes:
    kind = draw(
        st.sampled_from(["user", "reply", "reply", "ev", "meta", "truncate", "part", "bad"])
    )
    n = draw(st.integers(0, 10**6))
    if kind == "user":
        return msg("user", draw(_words), id=f"u{n}")
    if kind == "reply":
        return msg("assistant", draw(_words), id=f"r{n}", status="done", model="m:x")
    if kind == "ev":
        return {"t": "ev", "type": "assistant.turn_start", "id": f"e{n}", "ts": "T"}
    if kind == "meta":
        return draw(
            st.sampled_from(
                [
                    {"t": "meta", "model": "openai:other"},
                    {"t": "meta", "origin": "oneshot"},
                    {"t": "meta", "failed": "boom"},
                ]
            )
        )
    if kind == "truncate":
        return {"t": "truncate", "keep": draw(st.integers(0, 20))}
    if kind == "part":  # a reply cut by a kill -9
        return {"t": "part", "id": f"{DEAD}{n}", "text": draw(_words)}
    return draw(st.sampled_from([b"{not json", b"", b'{"t":"msg","role":"x"}']))


sessions = st.lists(st.lists(_record(), max_size=60), min_size=1, max_size=4)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(sessions=sessions)
def test_a_summary_is_the_same_however_it_is_found(
    monkeypatch: pytest.MonkeyPatch, sessions: list[list[Any]]
) -> None:
    """Read for it (no cache), from ``summaries.json`` (in this process or
    another), from a long session this process loaded: always what loading
    the session gives, and a listing that changed nothing leaves the cache
    file as it was."""
    with small(monkeypatch), tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        store = Store(root)
        store.ensure()
        for i, recs in enumerate(sessions):
            (store.sessions_dir / f"s{i}.jsonl").write_bytes(_file(recs, f"{i:016x}"))
        want = [
            summaries.summarize(f"s{i}", Store(root).load(f"s{i}")) for i in range(len(sessions))
        ]
        assert store.summaries() == want  # read
        cache = root / summaries.CACHE
        written = cache.stat().st_ino
        assert store.summaries() == want  # from the cache
        assert Store(root).summaries() == want  # another process: from the cache
        assert cache.stat().st_ino == written  # not written again
        cache.unlink()
        loaded = Store(root)
        for i in range(len(sessions)):
            loaded.load(f"s{i}")  # the long ones' summaries are kept
        assert loaded.summaries() == want
        assert json.loads(cache.read_bytes()) == json.loads(_cache_of(root, want))


def _cache_of(root: Path, want: list[summaries.Summary]) -> bytes:
    entries = {}
    for s in want:
        st_ = os.stat(root / "sessions" / f"{s.name}.jsonl")
        entries[s.name] = summaries.cache_entry(s, [st_.st_size, st_.st_mtime_ns, st_.st_ino])
    return json.dumps(entries).encode()


@pytest.mark.parametrize(
    "spoil",
    [
        {"messages": "1"},
        {"messages": 1.0},
        {"model": None},
        {"created": 5},
        {"first_prompt": ["x"]},
        {"origin": 0},
        {"cwd": False},
        {"key": [0, 0, 0]},
    ],
)
def test_a_cache_entry_of_the_wrong_shape_is_read_again(
    tmp_path: Path, spoil: dict[str, Any]
) -> None:
    store = new_store(tmp_path, "a")
    store.append("a", msg("user", "hello there"), msg("assistant", "hi"))
    (want,) = store.summaries()
    cache = tmp_path / summaries.CACHE
    entries = json.loads(cache.read_bytes())
    entries["a"].update(spoil)
    cache.write_text(json.dumps(entries))
    assert Store(tmp_path).summaries() == [want]
    assert json.loads(cache.read_bytes())["a"]["messages"] == 2  # put right


def test_a_cache_entry_with_a_key_of_its_own_still_holds(tmp_path: Path) -> None:
    """A later version's extra field is left alone, the summary used."""
    store = new_store(tmp_path, "a")
    store.append("a", msg("user", "hello there"))
    (want,) = store.summaries()
    cache = tmp_path / summaries.CACHE
    entries = json.loads(cache.read_bytes())
    entries["a"]["later"] = {"x": 1}
    cache.write_text(json.dumps(entries))
    assert Store(tmp_path).summaries() == [want]
    assert json.loads(cache.read_bytes())["a"]["later"] == {"x": 1}


def test_a_listing_that_indexes_many_sessions_removes_only_indexes_left_behind(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with small(monkeypatch):
        store = Store(tmp_path)
        store.ensure()
        stray = tmp_path / index.INDEX_DIR / ("0" * 32 + ".idx")
        stray.parent.mkdir()
        stray.write_bytes(b"left by a session rewritten since")
        for i in range(3):
            (store.sessions_dir / f"s{i}.jsonl").write_bytes(_file(_megabyte(4), f"{i:016x}"))
        assert [s.messages for s in store.summaries()] == [8, 8, 8]
        assert not stray.exists()
        assert len(list(stray.parent.glob("*.idx"))) == 3
        assert all(_through_index(Store(tmp_path).load(f"s{i}")) for i in range(3))


# -- the per-record path and the table's cells ----------------------------------------


def test_every_field_of_a_msg_record_lands_in_its_own_place() -> None:
    tools = [{"text": "t", "calls": [], "results": []}]
    line = json.dumps(
        msg(
            "assistant",
            "the content",
            ts=12.5,
            status="truncated",
            model="m:one",
            tokens=42,
            id="r-7",
            eid="e-1",
            parent="p-1",
            data={"k": 1},
            aborted=True,
            tools=tools,
        )
    ).encode()
    assert parse(line) == Message(
        role="assistant",
        content="the content",
        ts=12.5,
        status="truncated",
        model="m:one",
        tokens=42,
        id="r-7",
        eid="e-1",
        parent="p-1",
        data={"k": 1},
        aborted=True,
        tools=tools,
    )
    assert parse(b'{"t":"msg","role":"user","content":"q"}') == Message(role="user", content="q")


@given(st.text())
def test_clean_changes_only_what_is_not_printable(text: str) -> None:
    assert clean(text) == text.translate(_TABLE)


def test_ls_shows_the_time_of_a_session_changed_today_and_the_date_of_an_older_one(
    home: Path,
) -> None:
    store = new_store(home, "old", "new")
    store.append("new", msg("user", "hi"))
    long_ago = time.time() - 3 * 86400
    os.utime(store.path("old"), (long_ago, long_ago))
    rows = run_cli(["--base-url", "http://127.0.0.1:9"], ":ls\n").out.splitlines()
    cells = {row[3:].split()[0]: row[3:].split() for row in rows}  # after the "*" column
    today = time.localtime(store.path("new").stat().st_mtime)
    assert cells["new"][3] == time.strftime("%H:%M", today)
    assert cells["old"][3] == time.strftime("%Y-%m-%d", time.localtime(long_ago))
