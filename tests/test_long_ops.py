"""Operations on a long session stream over its file (issue 26): fork,
``:clear`` and ``:clear --purge`` (the trash's copy and ``vacuum``), the
exports (JSON, Markdown, HTML), the compaction scan and ``auto_compact``'s
check. Each gives what the whole-file version before it gave, byte for byte,
on realistic sessions (test_long_sessions.py's records: messages, events,
tool rounds, truncates, killed replies, corrupt lines, compactions), read
whole in memory, spilled to offsets, and through an index sidecar (the sizes
that make a session long set to a few kilobytes, as there).

The reference versions below are the code these operations had before they
streamed, kept here as the definition of their output."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from html import escape as html_escape
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from fakeserver import FakeServer, Reply
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_long_sessions import DEAD, _lines, _record, small

from copilot_repl import CopilotClient
from copilot_repl.api.library import should_auto_compact
from copilot_repl.cli.sessions import html_page, html_pieces
from copilot_repl.history import compact, exchange, files, index, log, trash
from copilot_repl.history.blinds import BlindStore, Pending, mask_document
from copilot_repl.history.compact import Compaction
from copilot_repl.history.exchange import export_json, export_parts, export_session
from copilot_repl.history.fork import fork, message_record
from copilot_repl.history.log import Messages, frozen, prefix_digest
from copilot_repl.history.messages import DONE, Message, estimate_tokens, message_tokens
from copilot_repl.history.records import dumps
from copilot_repl.history.store import Store
from copilot_repl.history.votes import Side
from copilot_repl.repl.transcript import closed, fenced, transcript_pieces
from copilot_repl.sanitize import clean

SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# -- realistic sessions -------------------------------------------------------
@st.composite
def _session(draw: st.DrawFn) -> bytes:
    """A session file: test_long_sessions.py's records, some replies with keys
    ``Message`` does not hold (``figures``), and maybe a compaction that
    still applies (its digest that of the first messages) with more after it."""
    pad = draw(st.integers(0, 12))  # messages enough for an index (at 1 KB), or not
    recs: list[Any] = [
        {"t": "msg", "role": ("user", "assistant")[i % 2], "content": f"{i} " * 60, "ts": 1.0}
        for i in range(pad)
    ]
    recs += draw(st.lists(_record(), min_size=1, max_size=80))
    for rec in recs:
        if isinstance(rec, dict) and rec.get("role") == "assistant" and draw(st.booleans()):
            rec["figures"] = {"ttft_s": 0.25, "tok_s": draw(st.integers(1, 500))}
    data = _lines(recs)
    if draw(st.booleans()):
        with tempfile.TemporaryDirectory() as tmp:
            messages = list(_store(Path(tmp), data).load("s").data.messages)
        if len(messages) >= 3:
            upto = draw(st.integers(1, len(messages) - 1))
            c = Compaction(upto, "the summary", compact.digest(messages[:upto]), "m:x", 3.0)
            more = draw(st.lists(_record(), max_size=20))
            data += dumps(c.record()) + _lines(more).split(b"\n", 1)[1]
    return data


def _store(root: Path, data: bytes, name: str = "s") -> Store:
    store = Store(root)
    store.ensure()
    (store.sessions_dir / f"{name}.jsonl").write_bytes(data)
    return store


WAYS = ["whole", "spilled", "indexed"]


def _open(monkeypatch: pytest.MonkeyPatch, way: str, root: Path, data: bytes) -> Store:
    """The session ``s`` holding ``data``: read whole (default sizes), or
    long (a few KB), the second time through its index."""
    store = _store(root, data)
    if way != "whole":
        with small(monkeypatch):  # undone with monkeypatch at the test's end
            pass
    if way == "indexed":
        store.load("s")  # writes the index
        assert list((root / index.INDEX_DIR).glob("*.idx")) or len(data) < index.INDEX_MIN
    return store


def _without_file_id(raw: bytes) -> tuple[dict[str, Any], list[bytes | dict[str, Any]]]:
    """The header without its (random) file id, and the records (a reply a
    kill cut short without its time: it is when a read found it cut)."""
    head, _, rest = raw.partition(b"\n")
    header = json.loads(head)
    assert len(header.pop("file_id")) == 16
    out: list[bytes | dict[str, Any]] = []
    for line in rest.split(b"\n"):
        rec = json.loads(line) if line.startswith(b'{"t":"msg"') else None
        if rec is not None and rec.get("id", "").startswith(DEAD):
            del rec["ts"]
            out.append(rec)
        else:
            out.append(line)
    return header, out


# -- the whole-file versions (the code before) -----------------------------------
def old_fork_payload(store: Store, parent: str, new: str, at: int | None, now: float) -> bytes:
    src = store.load(parent)
    messages = list(src.data.messages)
    at = len(messages) if at is None else at
    head = json.loads(src.head)
    header: dict[str, Any] = {
        "t": "session",
        "schema": 2,
        "file_id": "0" * 16,
        "name": new,
        "model": src.data.model,
        "system": src.data.system,
        "created": now,
        "fork": {"parent": src.data.name, "at": at, "parent_file_id": head.get("file_id", "")},
    }
    lines = [header, *(message_record(m) for m in messages[:at])]
    raw = store.path(parent).read_bytes()
    kept = compact.current(compact.scan(raw), messages[:at])
    if kept is not None and kept.upto < at:
        lines.append(kept.record())
    if src.data.tools is not None:
        lines.append({"t": "meta", "tools": src.data.tools})
    return b"".join(dumps(r) for r in lines)


def old_vacuum_payload(store: Store, name: str) -> tuple[bytes, bytes]:
    """(the file as vacuum rewrote it, the file as it was)."""
    raw = store.path(name).read_bytes()
    loaded = store.load(name)
    kept = compact.current(compact.scan(raw), list(loaded.data.messages))
    body = [
        *(message_record(m) for m in loaded.data.messages),
        *([kept.record()] if kept is not None else []),
    ]
    head = raw.partition(b"\n")[0]
    header = trash._header(head, loaded.data, new_id=False)
    return b"".join(dumps(r) for r in [header, *body]), raw


def old_record_extras(path: Path) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for line in path.read_bytes().splitlines():
        if b'"t":"msg"' not in line or b'"id"' not in line:
            continue
        try:
            rec = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if not isinstance(rec, dict) or not isinstance(rec.get("id"), str):
            continue
        extra = {k: v for k, v in rec.items() if k not in exchange.MESSAGE_KEYS and k != "t"}
        if extra:
            out[rec["id"]] = extra
    return out


def old_document(store: Store, name: str) -> dict[str, Any]:
    data = store.load(name).data
    extras = old_record_extras(store.path(data.name))
    messages = []
    for m in list(data.messages):
        item = exchange._message_dict(m)
        item.update(extras.get(m.id, {}) if m.id else {})
        messages.append(item)
    session = {
        "name": data.name,
        "model": data.model,
        "system": data.system,
        "created": data.created,
        "modified": data.modified,
    }
    return {"format": exchange.FORMAT, "version": 1, "session": session, "messages": messages}


def old_html(doc: dict[str, Any]) -> str:
    def escape(text: str) -> str:
        return html_escape(clean(text))

    s = doc["session"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{escape(s['name'])}</title>",
        "<style>body{font-family:sans-serif;max-width:50em;margin:auto;padding:1em}"
        "pre{white-space:pre-wrap;background:#f6f6f6;padding:.6em}"
        ".user h2{color:#1f5fbf}.assistant h2{color:#1f8f3f}</style>",
        "</head><body>",
        f"<h1>{escape(s['name'])}</h1>",
        f"<p>model: <code>{escape(s['model'])}</code></p>",
    ]
    if s["system"]:
        parts.append(f"<p>system:</p><pre>{escape(s['system'])}</pre>")
    for m in doc["messages"]:
        mark = "" if m["status"] == "done" else f" ({escape(m['status'])})"
        role = escape(m["role"])
        parts.append(
            f'<section class="{role}"><h2>{role}{mark}</h2><pre>{escape(m["content"])}</pre>'
            "</section>"
        )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def old_transcript(name: str, model: str, system_message: str, messages: list[Message]) -> str:
    from copilot_repl.repl.transcript import _FENCE_LINE

    lines = [f"# {name}", "", f"- model: `{model}`"]
    system = clean(system_message)
    if system and "\n" not in system and not _FENCE_LINE.search(system):
        lines.append(f"- system: {system}")
    elif system:
        lines += ["- system:", "", fenced(system)]
    lines.append("")
    for m in messages:
        mark = "" if m.status == "done" else f" ({m.status})"
        content = clean(m.content)
        body = closed(content) if m.role == "assistant" else fenced(content)
        lines += [f"## {m.role}{mark}", "", body, ""]
    return "\n".join(lines)


def old_should_auto_compact(
    fraction: float, context_tokens: int, system: str, messages: Sequence[Message]
) -> bool:
    if fraction <= 0:
        return False
    used = estimate_tokens(system) + sum(message_tokens(m) for m in messages)
    return used > fraction * context_tokens


# -- fork ------------------------------------------------------------------------
@SETTINGS
@given(data=_session(), way=st.sampled_from(WAYS), cut=st.floats(0, 1))
def test_a_fork_is_what_the_whole_file_version_wrote(
    monkeypatch: pytest.MonkeyPatch, data: bytes, way: str, cut: float
) -> None:
    with tempfile.TemporaryDirectory() as tmp, monkeypatch.context() as mp:
        store = _open(mp, way, Path(tmp), data)
        count = len(store.load("s").data.messages)
        at = None if cut > 0.9 else int(cut * count)
        want = old_fork_payload(store, "s", "f", at, 7.0)
        fork(store, "s", "f", at=at, now=7.0)
        got = store.path("f").read_bytes()
        assert _without_file_id(got) == _without_file_id(want)
        assert store.path("s").read_bytes() == data  # the parent untouched


# -- :clear and :clear --purge ---------------------------------------------------------
@SETTINGS
@given(data=_session(), way=st.sampled_from(WAYS), cut=st.floats(0, 1))
def test_clear_copies_the_messages_to_the_trash_as_before(
    monkeypatch: pytest.MonkeyPatch, data: bytes, way: str, cut: float
) -> None:
    with tempfile.TemporaryDirectory() as tmp, monkeypatch.context() as mp:
        store = _open(mp, way, Path(tmp), data)
        loaded = store.load("s")
        keep = int(cut * len(loaded.data.messages))
        gone = list(loaded.data.messages)[keep:]
        header = trash._header(loaded.head, loaded.data)
        want = b"".join(dumps(r) for r in [header, *(message_record(m) for m in gone)])
        entry = trash.trash_messages(store, loaded, keep)
        if not gone:
            assert entry is None
            return
        assert entry is not None
        assert _without_file_id(entry.path.read_bytes()) == _without_file_id(want)


@SETTINGS
@given(data=_session(), way=st.sampled_from(WAYS), cut=st.sampled_from([None, 0.0, 0.5]))
def test_vacuum_rewrites_the_file_as_before(
    monkeypatch: pytest.MonkeyPatch, data: bytes, way: str, cut: float | None
) -> None:
    """``:clear --purge`` (a truncate, then vacuum) and purging a cleared
    entry (vacuum alone): the same file as the whole-file version wrote (a
    new file id if it changed), or the file untouched if nothing would."""
    with tempfile.TemporaryDirectory() as tmp, monkeypatch.context() as mp:
        store = _open(mp, way, Path(tmp), data)
        if cut is not None:
            loaded = store.load("s")
            store.truncate(loaded, int(cut * len(loaded.data.messages)))
        if store.load("s").parts:
            return  # refused as before (a reply streaming: never in these records)
        want, before = old_vacuum_payload(store, "s")
        done = trash.vacuum(store, "s")
        got = store.path("s").read_bytes()
        if want == before:
            assert done.rewritten == () and got == before
        else:
            assert done.rewritten == ("s",)
            assert _without_file_id(got) == _without_file_id(want)
            assert json.loads(got.partition(b"\n")[0])["file_id"] != "f" * 16
            assert not list((Path(tmp) / index.INDEX_DIR).glob("*.idx"))  # it held old text


def test_vacuum_of_an_unchanged_file_leaves_it(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.ensure()
    m = Message(role="user", content="hello", ts=1.0)
    header = {"t": "session", "schema": 2, "file_id": "a" * 16, "name": "s", "model": "m:x"}
    header |= {"system": "", "created": 1.0}
    raw = dumps(header) + dumps(message_record(m))
    store.path("s").write_bytes(raw)
    assert trash.vacuum(store, "s").rewritten == ()
    assert store.path("s").read_bytes() == raw
    assert trash._holds(os.open(store.path("s"), os.O_RDONLY), len(raw), [raw[:3], raw[3:]])


# -- exports ---------------------------------------------------------------------
@SETTINGS
@given(data=_session(), way=st.sampled_from(WAYS), hidden=st.booleans())
def test_exports_are_byte_for_byte_the_whole_file_ones(
    monkeypatch: pytest.MonkeyPatch, data: bytes, way: str, hidden: bool
) -> None:
    # no killed replies: their time is when a read found them cut, each read
    data = b"\n".join(x for x in data.split(b"\n") if not x.startswith(b'{"t": "part"'))
    with tempfile.TemporaryDirectory() as tmp, monkeypatch.context() as mp:
        store = _open(mp, way, Path(tmp), data)
        if hidden:  # a blind comparison waits for its vote: models and figures out
            sides = {"A": Side("s", "m:a", "a"), "B": Side("other", "m:b", "b")}
            BlindStore(store.root).save(Pending("r", "p", sides))
        doc = old_document(store, "s")
        if hidden:
            doc = mask_document(doc)
        want = json.dumps(doc, ensure_ascii=False, indent=2)
        assert "".join(export_json(store, "s")) == want
        assert export_session(store, "s") == doc
        html = old_html(doc)
        assert "".join(html_pieces(*export_parts(store, "s"))) == html == html_page(doc)
        assert "".join(html_pieces(*export_parts(store, "s", extras=False))) == html
        loaded = store.load("s")
        args = ("s", "m:x", loaded.data.system)
        md = "".join(transcript_pieces(*args, loaded.data.messages))
        assert md == old_transcript(*args, list(loaded.data.messages))
        assert exchange.record_extras(store.path("s"), block=97) == old_record_extras(
            store.path("s")
        )


def test_exports_written_to_files_are_the_same_bytes(tmp_path: Path) -> None:
    """``write_output`` given pieces writes what it writes given their text
    (a lone surrogate as ``\\ud800`` in either)."""
    pieces = ["a\ud800", "é\n", "", "\udc00😀"]
    files.write_output(tmp_path / "one", "".join(pieces), overwrite=False)
    files.write_output(tmp_path / "two", iter(pieces), overwrite=False)
    files.write_output(tmp_path / "two", iter(pieces[:2]), overwrite=True)
    files.write_output(tmp_path / "two", iter(pieces), overwrite=True)
    assert (tmp_path / "one").read_bytes() == (tmp_path / "two").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one", "two"]  # no temp left


def test_a_failure_while_pieces_are_made_leaves_no_file(tmp_path: Path) -> None:
    def pieces() -> Any:
        yield b"x" * (files.CHUNK + 1)
        raise OSError(5, "the source broke")

    with pytest.raises(OSError):
        files.create_new(tmp_path / "new", pieces())
    (tmp_path / "old").write_bytes(b"kept")
    with pytest.raises(OSError):
        files.write_atomic(tmp_path / "old", pieces())
    assert [p.name for p in tmp_path.iterdir()] == ["old"]
    assert (tmp_path / "old").read_bytes() == b"kept"


# -- compaction ------------------------------------------------------------------
@SETTINGS
@given(data=_session(), block=st.integers(1, 300))
def test_compactions_scanned_a_block_at_a_time_are_the_whole_scan(data: bytes, block: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "s.jsonl"
        path.write_bytes(data + data[: len(data) // 2])  # a torn last line too
        fd = os.open(path, os.O_RDONLY)
        try:
            assert compact.scan_file(fd, block) == compact.scan(path.read_bytes())
        finally:
            os.close(fd)
        assert compact.read_compactions(path) == compact.scan(path.read_bytes())


@settings(max_examples=200, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 400), max_size=30),
    fraction=st.sampled_from([0.0, 0.1, 0.5, 0.9]),
    window=st.integers(0, 3000),
    system=st.text(max_size=50),
)
def test_the_auto_compact_check_decides_as_the_whole_sum(
    sizes: list[int], fraction: float, window: int, system: str
) -> None:
    messages = [Message(role="user", content="x" * n) for n in sizes]
    assert should_auto_compact(fraction, window, system, messages) == old_should_auto_compact(
        fraction, window, system, messages
    )


@SETTINGS
@given(data=_session(), way=st.sampled_from(WAYS), more=st.integers(0, 5))
def test_a_frozen_history_stays_as_it_was(
    monkeypatch: pytest.MonkeyPatch, data: bytes, way: str, more: int
) -> None:
    """What ``_compact`` (and ``:export`` across its question) works on: the
    messages as they were, after a cut and new ones."""
    with tempfile.TemporaryDirectory() as tmp, monkeypatch.context() as mp:
        store = _open(mp, way, Path(tmp), data)
        loaded = store.load("s")
        messages = loaded.data.messages
        want = list(messages)
        snap = frozen(messages)
        assert isinstance(snap, list) == (loaded.data.log.source is None)
        store.truncate(loaded, len(messages) // 2)
        for i in range(more):
            rec = {"t": "msg", "role": "user", "content": f"new {i}", "ts": 9.0}
            store.append("s", rec, loaded=loaded)
        assert list(snap) == want and len(snap) == len(want)
        assert [snap[i] for i in range(len(want) - 1, -1, -1)] == want[::-1]
        if isinstance(snap, Messages):
            assert snap.log.source is messages.log.source


@SETTINGS
@given(
    data=_session(),
    way=st.sampled_from(WAYS),
    steps=st.lists(st.tuples(st.sampled_from(["append", "truncate"]), st.floats(0, 1)), max_size=8),
)
def test_a_prefix_digest_kept_between_turns_is_the_digest_of_the_messages_now(
    monkeypatch: pytest.MonkeyPatch, data: bytes, way: str, steps: list[tuple[str, float]]
) -> None:
    """``compact.current`` at each turn digests the replaced messages: kept
    with the session's messages, never once they changed (a cut, new ones,
    another process's truncate read back)."""
    with tempfile.TemporaryDirectory() as tmp, monkeypatch.context() as mp:
        store = _open(mp, way, Path(tmp), data)
        loaded = store.load("s")
        messages = loaded.data.messages
        for i, (step, at) in enumerate(steps):
            now = list(messages)
            for n in {0, len(now), int(at * len(now)), max(0, len(now) - 1)}:
                for seq in (messages, messages[: len(now)], messages[: max(n, len(now) - 1)]):
                    assert prefix_digest(seq, n) == compact.digest(now[:n])
            if step == "truncate":
                store.truncate(loaded, int(at * len(now)))
            else:
                rec = {"t": "msg", "role": "user", "content": f"new {i} {at}", "ts": 9.0}
                store.append("s", rec, loaded=loaded)
        now = list(messages)
        found = [Compaction(n, "s", compact.digest(now[:n])) for n in range(1, len(now))]
        assert compact.current(found, messages, prefix_digest) == compact.current(found, now)


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=_session(), way=st.sampled_from(WAYS), hidden=st.booleans(), last=st.integers(1, 5))
def test_the_cli_writes_and_shows_what_it_wrote_before(
    monkeypatch: pytest.MonkeyPatch, data: bytes, way: str, hidden: bool, last: int
) -> None:
    """``sessions export`` (each format, to a file and to stdout) and
    ``sessions show [--last N] [--json]``, through the command line."""
    data = b"\n".join(x for x in data.split(b"\n") if not x.startswith(b'{"t": "part"'))
    with tempfile.TemporaryDirectory() as tmp, monkeypatch.context() as mp:
        store = _open(mp, way, Path(tmp), data)
        if hidden:
            sides = {"A": Side("s", "m:a", "a"), "B": Side("other", "m:b", "b")}
            BlindStore(store.root).save(Pending("r", "p", sides))
        env = {"COPILOT_REPL_HOME": tmp}
        doc = old_document(store, "s")
        if hidden:
            doc = mask_document(doc)
        loaded = store.load("s")
        model = "hidden" if hidden else loaded.data.model
        md = old_transcript("s", model, loaded.data.system, list(loaded.data.messages))
        want = {
            "json": json.dumps(doc, ensure_ascii=False, indent=2) + "\n",
            "md": md if md.endswith("\n") else md + "\n",
            "html": old_html(doc),
        }
        for fmt, text in want.items():
            out = Path(tmp) / f"out.{fmt}"
            r = run_cli(["sessions", "export", "s", "--format", fmt, "-o", str(out)], env=env)
            assert r.code == 0, r.err
            assert out.read_text() == text
            assert run_cli(["sessions", "export", "s", "--format", fmt], env=env).out == text
        shown = {**doc, "messages": doc["messages"][-last:]}
        r = run_cli(["sessions", "show", "s", "--last", str(last), "--json"], env=env)
        assert r.out == json.dumps(shown, ensure_ascii=False, indent=2) + "\n"
        text = "".join(
            clean(f"=== {m['role']}{_mark(m)} ===\n{m['content']}") + "\n" for m in doc["messages"]
        )
        assert run_cli(["sessions", "show", "s"], env=env).out == (text or "(no messages yet)\n")


def _mark(m: dict[str, Any]) -> str:
    return "" if m["status"] == "done" else f" [{m['status']}]"


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(alphabet='ab\n"\\é😀\x1b\u2028', max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(alphabet='ab"\n', max_size=3), inner, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(item=st.dictionaries(st.text(alphabet='ab"\né', max_size=4), _json, max_size=6))
def test_an_item_nested_in_the_export_is_what_json_dumps_nests(item: dict[str, Any]) -> None:
    doc = {"format": "f", "messages": [item, item]}
    want = json.dumps(doc, ensure_ascii=False, indent=2)
    assert (
        want
        == '{\n  "format": "f",\n  "messages": [\n    '
        + ",\n    ".join([exchange._nested(item)] * 2)
        + "\n  ]\n}"
    )


@settings(max_examples=100, deadline=None)
@given(
    data=st.none() | st.dictionaries(st.text(max_size=3), _json, max_size=3),
    tools=st.none() | st.lists(st.dictionaries(st.text(max_size=3), _json, max_size=3)),
    eid=st.sampled_from(["", "e1"]),
    aborted=st.booleans(),
    status=st.sampled_from(["done", "interrupted", DONE]),
)
def test_an_exported_message_has_the_fields_asdict_gave(
    data: Any, tools: Any, eid: str, aborted: bool, status: str
) -> None:
    m = Message("assistant", "hi", 2.5, status, "m:x", 3, "r1", eid, "", data, aborted, tools)
    assert exchange._export_dict(m) == exchange._message_dict(m)
    assert list(exchange._export_dict(m)) == list(exchange._message_dict(m))


def test_older_messages_walked_forward_by_index_stay_at_hand(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``_compact`` walks its frozen messages forward one index at a time
    (``_piece_end``): each one asked for reads those before it too, most of
    them at hand already; they are not counted twice, so the cache keeps
    what it can hold instead of emptying itself (and reading them again)."""
    recs = [
        {"t": "msg", "role": ("user", "assistant")[i % 2], "content": f"{i} " * 40, "ts": 1.0}
        for i in range(400)
    ]
    with monkeypatch.context() as mp:
        with small(mp):
            mp.setattr(log, "CACHE_BYTES", 64 << 10)
            mp.setattr(log, "CACHE", 1000)
        messages = _store(tmp_path, _lines(recs)).load("s").data.messages
        older = messages.log
        assert older.head > 300
        for i in range(older.head):
            assert messages[i].content == f"{i} " * 40
            kept = older._cache.values()
            assert older._cache_bytes == sum(log._size(e) for e in kept)
        assert len(older._cache) > 100  # 64 KB of about 300 bytes each


async def test_compacting_a_long_session_asks_and_saves_what_a_list_of_it_gave(
    monkeypatch: pytest.MonkeyPatch, server: FakeServer, home: Path
) -> None:
    """``_compact`` on the frozen offsets of a long session (its older
    messages on disk): the same request and the same saved summary as on a
    list of its messages; the next turn sends the summary and the rest."""
    recs = [
        {"t": "msg", "role": ("user", "assistant")[i % 2], "content": f"{i} kumquat " * 9}
        for i in range(120)
    ]
    with monkeypatch.context() as mp:
        with small(mp):
            pass
        store = _store(home, _lines(recs), name="long")
        store.load("long")  # its index
        async with CopilotClient(data_dir=str(home), base_url=server.url) as client:
            s = await client.resume_session("long")
            assert isinstance(s.messages, Messages) and s.messages.log.source is not None
            before = list(s.messages)
            upto = compact.plan(before, keep_tokens=0)
            server.queue(Reply(text="SUMMARY"))
            c = await s.compact()
            asked = server.requests[-1]["body"]["messages"]
            assert asked == compact.summary_request(before, upto, None)
            assert (c.upto, c.digest) == (upto, compact.digest(before[:upto]))
            await s.send_and_wait("and now?")
            sent = server.requests[-1]["body"]["messages"]
            assert "SUMMARY" in sent[0]["content"]
            assert [m["content"] for m in sent[1:-1]] == [m.content for m in before[upto:]]
