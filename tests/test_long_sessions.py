"""Long sessions: the older part of a session's log stays on disk (history/log.py)
and is found through an index sidecar (history/index.py). Whatever way a
session is read (whole, in pieces, its older entries spilled to offsets,
through an index, an index and what was appended since), it loads to the same
session; an index that is stale, corrupt, foreign or of another version is
never used, and is written again.

The sizes that make a session "long" are set small here (a few kilobytes) so
that realistic files of a few hundred records cross every threshold; the
real-size figures are in ``make bench`` (bench/long.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot_repl.api.history_events import history_events, last_event_id
from copilot_repl.errors import StoreError
from copilot_repl.history import compact, index, log, reader
from copilot_repl.history.compact import Compaction, digest
from copilot_repl.history.messages import Message
from copilot_repl.history.reader import Loaded
from copilot_repl.history.store import Store

MODEL = "openai:gpt-4o-mini"
FIXTURE = HealthCheck.function_scoped_fixture  # monkeypatch: set once, the same each example
TS = "2026-01-01T00:00:00+00:00"
DEAD = "4194309-0badc0de-"  # above any pid: its parts are a dead writer's


@contextmanager
def small(monkeypatch: pytest.MonkeyPatch, tail: int = 2048, piece: int = 1024) -> Iterator[None]:
    """Thresholds of a long session at a few KB (sizes, not behaviour)."""
    monkeypatch.setattr(log, "TAIL_BYTES", tail)
    monkeypatch.setattr(log, "READ_BEHIND", 3)
    monkeypatch.setattr(log, "BLOCK", 512)
    monkeypatch.setattr(log, "CACHE", 4)
    monkeypatch.setattr(reader, "PIECE", piece)
    monkeypatch.setattr(index, "INDEX_MIN", 1024)
    monkeypatch.setattr(index, "REINDEX", 1024)
    yield


# -- realistic records ----------------------------------------------------------
_words = st.text(alphabet='abc xyz\n"\\é😀{}', max_size=300)
_eid = st.integers(0, 10**6).map(lambda n: f"00000000-0000-4000-8000-{n:012x}")


@st.composite
def _record(draw: st.DrawFn) -> dict[str, Any] | bytes:
    kind = draw(
        st.sampled_from(
            ["user", "reply", "reply", "tools", "ev", "ev", "meta", "truncate", "parts", "junk"]
        )
    )
    n = draw(st.integers(0, 10**6))
    if kind == "user":
        return {"t": "msg", "role": "user", "content": draw(_words), "ts": 1.0, "id": f"u{n}"}
    if kind in ("reply", "tools"):
        rec: dict[str, Any] = {
            "t": "msg",
            "role": "assistant",
            "content": draw(_words),
            "ts": 2.0,
            "id": f"r{n}",
            "eid": draw(_eid),
            "status": draw(st.sampled_from(["done", "interrupted", "truncated"])),
        }
        if kind == "tools":
            call = {"id": f"c{n}", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            result = {"tool_call_id": f"c{n}", "content": draw(_words), "ok": True}
            rec["tools"] = [{"text": "", "calls": [call], "results": [result]}]
        return rec
    if kind == "ev":
        return {
            "t": "ev",
            "type": draw(st.sampled_from(["assistant.turn_start", "tool.execution_start"])),
            "id": draw(_eid),
            "ts": TS,
            "data": {"turn_id": str(n), "text": draw(_words)},
        }
    if kind == "meta":
        return draw(
            st.sampled_from(
                [
                    {"t": "meta", "model": "openai:other"},
                    {"t": "meta", "system": "be brief"},
                    {"t": "meta", "failed": "boom"},
                    {"t": "meta", "origin": "oneshot"},
                    {"t": "meta", "tools": {"v": 1, "servers": ["fs"], "off": ["rm"]}},
                    Compaction(1, "summary", "0" * 32).record(),
                ]
            )
        )
    if kind == "truncate":
        return {"t": "truncate", "keep": draw(st.integers(0, 40))}
    if kind == "parts":  # a reply cut by a kill -9 (its writer is gone), maybe finished
        return {"t": "part", "id": f"{DEAD}{n}", "text": draw(_words)}
    return draw(st.sampled_from([b"{not json", b"", b'{"t":"msg","role":"x"}', b"[1,2]"]))


def _lines(records: list[dict[str, Any] | bytes]) -> bytes:
    header = {"t": "session", "schema": 2, "file_id": "f" * 16, "model": MODEL, "created": 5.0}
    out = [json.dumps(header).encode()]
    for rec in records:
        out.append(rec if isinstance(rec, bytes) else json.dumps(rec).encode())
    return b"\n".join(out) + b"\n"


def _store(root: Path, data: bytes, name: str = "s") -> Store:
    store = Store(root)
    store.ensure()
    (store.sessions_dir / f"{name}.jsonl").write_bytes(data)
    return store


def _view(loaded: Loaded) -> dict[str, Any]:
    """What a session is, as a reader sees it (a sealed reply's time aside:
    it is when it was found cut)."""
    data = loaded.data
    events = history_events(data, "s")
    if len(data.log):  # the parent of the next event, found without the walk
        assert last_event_id(data, "s") == events[-1].id

    def message(m: Message) -> tuple[Any, ...]:
        ts = None if m.id in loaded.sealed else m.ts
        return (m.role, m.content, ts, m.status, m.id, m.eid, m.tools, m.aborted)

    return {
        "model": data.model,
        "system": data.system,
        "created": data.created,
        "tools": data.tools,
        "messages": [message(m) for m in data.messages],
        "newest": [
            message(data.messages[i]) for i in range(-1, -min(3, len(data.messages)) - 1, -1)
        ],
        "log": [message(e) if isinstance(e, Message) else e for e in data.log],
        "count": (len(data.messages), len(data.log)),
        "generation": loaded.generation,
        "failed": loaded.failed,
        "origin": loaded.origin,
        "compactions": loaded.compactions,
        "sealed": sorted(loaded.sealed),
        "offset": (loaded.offset, loaded.lineno),
        "warned": bool(loaded.warnings),
        "events": len(events),
    }


def _whole(data: bytes) -> dict[str, Any]:
    """The session read whole, in memory, with no index (the reference)."""
    with tempfile.TemporaryDirectory() as tmp:
        return _view(_store(Path(tmp), data).load("s"))


records = st.lists(_record(), min_size=1, max_size=80)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=records, more=records)
def test_a_long_session_loads_the_same_however_it_is_read(
    monkeypatch: pytest.MonkeyPatch, records: list[Any], more: list[Any]
) -> None:
    first, second = _lines(records), _lines(more).split(b"\n", 1)[1]
    want_first, want_both = _whole(first), _whole(first + second)
    with small(monkeypatch), tempfile.TemporaryDirectory() as tmp:
        store = _store(Path(tmp), first)
        assert _view(store.load("s")) == want_first  # in pieces, spilled; index written
        assert _view(store.load("s")) == want_first  # through the index
        with open(store.path("s"), "ab") as f:
            f.write(second)  # appended since (another process, a turn)
        assert _view(store.load("s")) == want_both  # index + the rest
        assert _view(store.load("s")) == want_both  # the index written again, or not


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(records=records, more=records, keep=st.integers(0, 50))
def test_appends_and_truncates_through_the_store_match_a_fresh_read(
    monkeypatch: pytest.MonkeyPatch, records: list[Any], more: list[Any], keep: int
) -> None:
    """What a session open in this process becomes (its older entries on
    disk) is what reading the file afresh gives (a killed reply's parts
    included: sealed before whatever follows them, wherever a read stopped)."""
    with small(monkeypatch), tempfile.TemporaryDirectory() as tmp:
        store = _store(Path(tmp), _lines(records))
        store.load("s")  # writes the index
        loaded = store.load("s")
        for rec in more:
            if isinstance(rec, dict) and rec["t"] not in ("part", "truncate"):
                store.append("s", rec, loaded=loaded)
        store.truncate(loaded, min(keep, len(loaded.data.messages)))
        got = _view(loaded)
        fresh = _view(store.load("s"))
        for key in ("messages", "log", "count", "model", "system", "compactions"):
            assert got[key] == fresh[key]
        assert fresh == _whole(store.path("s").read_bytes())


def _long(root: Path, turns: int = 60) -> Store:
    recs: list[Any] = []
    for i in range(turns):
        recs.append({"t": "msg", "role": "user", "content": f"question {i} " * 5, "ts": 1.0})
        eid = f"00000000-0000-4000-8000-{i:012x}"
        recs.append(
            {
                "t": "ev",
                "type": "assistant.turn_start",
                "id": eid,
                "ts": TS,
            }
        )
        recs.append({"t": "msg", "role": "assistant", "content": f"answer {i} " * 9, "ts": 2.0})
    return _store(root, _lines(recs))


def _index_file(store: Store) -> Path:
    (found,) = (store.root / index.INDEX_DIR).glob("*.idx")
    return found


def _spoil(path: Path, how: str) -> None:
    raw = path.read_bytes()
    if how == "flip":
        path.write_bytes(raw[:200] + bytes([raw[200] ^ 1]) + raw[201:])
    elif how == "cut":
        path.write_bytes(raw[: len(raw) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "version":  # a valid digest over a state of another version
        body = raw[:-4]
        at = len(index.MAGIC)
        size = int.from_bytes(body[at : at + 4], "big")
        state = json.loads(body[at + 4 : at + 4 + size])
        state["version"] = index.VERSION + 1
        head = json.dumps(state).encode()
        body = index.MAGIC + len(head).to_bytes(4, "big") + head + body[at + 4 + size :]
        path.write_bytes(index.seal(body))


@pytest.mark.parametrize("how", ["flip", "cut", "empty", "version"])
def test_a_corrupt_or_foreign_index_is_ignored_and_written_again(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, how: str
) -> None:
    with small(monkeypatch):
        store = _long(tmp_path)
        want = _view(store.load("s"))
        path = _index_file(store)
        good = path.read_bytes()
        assert index.decode(good) is not None
        _spoil(path, how)
        assert index.decode(path.read_bytes()) is None
        assert _view(store.load("s")) == want
        assert path.read_bytes() == good  # rebuilt: the same index


def test_an_index_is_never_used_for_another_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The same header (a copy, a file rewritten whole) but other bytes or
    another inode: the index does not fit, the file is read whole."""
    with small(monkeypatch):
        store = _long(tmp_path)
        store.load("s")
        path = store.path("s")
        raw = path.read_bytes()
        lines = raw.split(b"\n")
        # rewritten whole (another inode), one early message changed
        lines[1] = lines[1].replace(b"question 0", b"QUESTION 0")
        tmp = path.with_name("x.tmp")
        tmp.write_bytes(b"\n".join(lines))
        os.replace(tmp, path)
        loaded = store.load("s")
        assert loaded.data.messages[0].content.startswith("QUESTION 0")
        # the same inode, bytes before the index's end changed in place
        store.load("s")
        with open(path, "r+b") as f:
            f.seek(raw.index(b"answer 3"))
            f.write(b"ANSWER 3")
        assert store.load("s").data.messages[7].content.startswith("ANSWER 3")


def test_a_wrong_offset_is_an_error_that_removes_the_index(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An index whose checksum holds but whose offsets are wrong (a bug): the
    line read back is checked, the error is one line, and the next open
    reads the file whole."""
    with small(monkeypatch):
        store = _long(tmp_path)
        want = _view(store.load("s"))
        path = _index_file(store)
        found = index.decode(path.read_bytes())
        assert found is not None
        found.offsets[0] += 3  # inside a line
        state = dict(found.state)
        head = json.dumps(state).encode()
        body = index.MAGIC + len(head).to_bytes(4, "big") + head
        body += found.offsets.tobytes() + found.positions.tobytes()
        path.write_bytes(index.seal(body))
        assert _view(store.load("s")) == want  # read whole: the first entry was not right
        assert index.decode(path.read_bytes()) is not None  # and indexed again
        found.offsets[0] -= 3
        found.offsets[9] += 3  # an entry in the middle: found when it is read
        body = index.MAGIC + len(head).to_bytes(4, "big") + head
        body += found.offsets.tobytes() + found.positions.tobytes()
        path.write_bytes(index.seal(body))
        loaded = store.load("s")
        with pytest.raises(StoreError, match="not the one indexed") as caught:
            list(loaded.data.messages)
        assert "\n" not in str(caught.value)
        assert not path.exists()
        assert _view(store.load("s")) == want


def test_an_old_schema_1_session_gets_an_index_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    header = {"t": "session", "schema": 1, "model": MODEL, "created": 5.0}
    body = [json.dumps(header)]
    for i in range(80):
        body.append(json.dumps({"t": "msg", "role": "user", "content": f"q{i} " * 9}))
        body.append(json.dumps({"t": "msg", "role": "assistant", "content": f"a{i} " * 9}))
    data = ("\n".join(body) + "\n").encode()
    want = _whole(data)
    with small(monkeypatch):
        store = _store(tmp_path, data)
        assert _view(store.load("s")) == want
        assert _index_file(store).exists()
        assert _view(store.load("s")) == want


def test_no_index_while_a_reply_streams_and_none_for_a_short_session(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from copilot_repl.history.writers import PROCESS_TOKEN

    with small(monkeypatch):
        store = _long(tmp_path)
        store.append("s", {"t": "part", "id": f"{PROCESS_TOKEN}-1", "text": "half"})
        loaded = store.load("s")
        assert loaded.state == "streaming"
        assert not (store.root / index.INDEX_DIR).exists()
        store.append(
            "s", {"t": "msg", "role": "assistant", "content": "whole", "id": f"{PROCESS_TOKEN}-1"}
        )
        assert store.load("s").data.messages[-1].content == "whole"
        assert _index_file(store).exists()
    short = _store(tmp_path / "short", _lines([{"t": "msg", "role": "user", "content": "hi"}]))
    short.load("s")
    assert not (short.root / index.INDEX_DIR).exists()


def test_deleting_a_long_session_removes_its_index(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with small(monkeypatch):
        store = _long(tmp_path)
        store.load("s")
        path = _index_file(store)
        store.delete("s")
        assert not path.exists()


def test_a_compaction_in_the_older_part_still_applies(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with small(monkeypatch):
        store = _long(tmp_path)
        first = store.load("s").data.messages
        c = Compaction(4, "what came before", digest(list(first[:4])))
        store.append("s", c.record())
        for i in range(40):
            store.append("s", {"t": "msg", "role": "user", "content": f"later {i} " * 9})
        store.load("s")  # the index holds the compaction now
        loaded = store.load("s")
        assert loaded.compactions == [c]
        assert compact.current(loaded.compactions, loaded.data.messages) == c


def test_views_of_a_long_log_read_only_what_they_show(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with small(monkeypatch):
        store = _long(tmp_path)
        store.load("s")
        msgs = store.load("s").data.messages
        assert msgs.log.head > 0  # older entries on disk
        window = msgs[10:20]
        assert len(window) == 10 and window[0].content.startswith("question 5")
        assert list(window[2:4]) == [msgs[12], msgs[13]]
        assert [m.content for m in msgs[-2:]] == [msgs[-2].content, msgs[-1].content]
        assert window == list(window) and msgs == list(msgs)
        with pytest.raises(IndexError):
            msgs[len(msgs)]


@pytest.mark.parametrize("compacted", [False, True])
async def test_history_n_shows_the_last_n_rows_of_the_whole_history(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, compacted: bool
) -> None:
    """``:history N`` builds only its rows: the same as the whole view's last
    N, for every N (tool lines, a summary's row, a fork's note included)."""
    from copilot_repl import CopilotClient
    from copilot_repl.history.fork import fork
    from copilot_repl.repl.commands.library import history_view

    with small(monkeypatch):
        store = _long(tmp_path, turns=8)
        call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
        tools = [{"text": "", "calls": [call], "results": [{"tool_call_id": "c", "content": "r"}]}]
        store.append("s", {"t": "msg", "role": "user", "content": "use a tool"})
        store.append("s", {"t": "msg", "role": "assistant", "content": "done", "tools": tools})
        if compacted:
            first = store.load("s").data.messages
            store.append("s", Compaction(5, "before", digest(list(first[:5]))).record())
        fork(store, "s", "f")
        async with CopilotClient(data_dir=str(tmp_path), base_url="http://127.0.0.1:9/v1") as c:
            for name in ("s", "f"):
                session = await c.resume_session(name)
                whole = history_view(store, session, all_messages=False)
                for n in range(1, len(whole) + 3):
                    got = history_view(store, session, all_messages=False, last=n)
                    assert got == whole[-n:]
                every = history_view(store, session, all_messages=True)
                assert history_view(store, session, all_messages=True, last=4) == every[-4:]


def test_a_killed_reply_ends_before_the_record_after_it(tmp_path: Path) -> None:
    """Its parts are sealed (an interrupted reply) before the next record of
    any kind, not at the end of the read: a truncate after it cuts it, an
    event after it comes after it, however the file is read."""
    user = {"t": "msg", "role": "user", "content": "q", "ts": 1.0}
    part = {"t": "part", "id": f"{DEAD}1", "text": "half"}
    ev = {"t": "ev", "type": "session.resume", "id": "00000000-0000-4000-8000-000000000001"}
    ev["ts"] = TS
    loaded = _store(tmp_path, _lines([user, part, {"t": "truncate", "keep": 1}])).load("s")
    assert [m.content for m in loaded.data.messages] == ["q"]
    loaded = _store(tmp_path / "b", _lines([user, part, ev])).load("s")
    kinds = [e.role if isinstance(e, Message) else e.type for e in loaded.data.log]
    assert kinds == ["user", "assistant", "session.resume"]


def test_an_index_holds_any_text_a_session_holds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A lone surrogate (an old session's) in the system prompt and in a
    killed reply (held in the index itself) round-trips."""
    with small(monkeypatch):
        store = _long(tmp_path)
        store.append("s", {"t": "meta", "system": "odd \ud800 system"})
        store.append("s", {"t": "part", "id": f"{DEAD}9", "text": "half \udfff"})
        for i in range(20):
            store.append("s", {"t": "msg", "role": "user", "content": f"later {i} " * 9})
        want = _view(store.load("s"))
        assert index.decode(_index_file(store).read_bytes()) is not None
        assert _view(store.load("s")) == want


def test_another_process_appends_and_indexes_meanwhile(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A session open here while another process appends to it and writes
    its index: a refresh here, a load through the other's index and a whole
    read agree."""
    other = (
        "import sys\n"
        "from pathlib import Path\n"
        "from copilot_repl.history import index, log, reader\n"
        "log.TAIL_BYTES, reader.PIECE = 2048, 1024\n"
        "index.INDEX_MIN, index.REINDEX = 1024, 1024\n"
        "from copilot_repl.history.store import Store\n"
        "s = Store(Path(sys.argv[1]))\n"
        "for i in range(40):\n"
        "    s.append('s', {'t': 'msg', 'role': 'user', 'content': f'from b {i} ' * 9})\n"
        "s.load('s')\n"
    )
    with small(monkeypatch):
        store = _long(tmp_path)
        store.load("s")
        mine = store.load("s")  # through the index
        before = _index_file(store).read_bytes()
        subprocess.run([sys.executable, "-c", other, str(tmp_path)], check=True, timeout=60)
        assert _index_file(store).read_bytes() != before  # the other process wrote it
        store.refresh(mine)
        want = _whole(store.path("s").read_bytes())
        assert _view(mine) == want
        assert _view(store.load("s")) == want


def test_a_session_that_grows_long_while_open_keeps_its_older_part_on_disk(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with small(monkeypatch):
        store = _store(tmp_path, _lines([{"t": "msg", "role": "user", "content": "first"}]))
        loaded = store.load("s")
        for i in range(60):
            store.append(
                "s", {"t": "msg", "role": "user", "content": f"turn {i} " * 9}, loaded=loaded
            )
        assert loaded.data.log.head > 0
        assert _view(loaded) == _whole(store.path("s").read_bytes())


def test_an_index_left_behind_is_removed_when_another_is_made(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A session rewritten with a new header (``:clear --purge``) or removed
    by hand leaves its index; the next index made removes it, never one
    still in use."""
    with small(monkeypatch):
        store = _long(tmp_path)
        store.load("s")
        kept = _index_file(store)
        left = kept.with_name("0" * 32 + ".idx")
        left.write_bytes(kept.read_bytes())
        second = store.sessions_dir / "t.jsonl"
        copy = store.path("s").read_bytes().replace(b"f" * 16, b"e" * 16, 1)  # its own file_id
        second.write_bytes(copy)
        store.load("t")
        assert sorted(p.name for p in (tmp_path / index.INDEX_DIR).glob("*.idx")) == sorted(
            [kept.name, index.path_for(tmp_path, second.read_bytes().split(b"\n")[0]).name]
        )
