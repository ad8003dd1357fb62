"""Records of the wrong shape: each is skipped, all are reported in one line,
and nothing but the documented errors is ever raised, whatever the bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import msg, new_store

from copilot_repl.errors import StoreError
from copilot_repl.history.records import Corrupt, parse
from copilot_repl.history.store import apply_record


def add_raw(path: Path, *lines: bytes) -> None:
    with open(path, "ab") as f:
        f.write(b"".join(line + b"\n" for line in lines))


WRONG_SHAPES = [
    b'{"t":"truncate","keep":-1}',
    b'{"t":"truncate","keep":1e400}',
    b'{"t":"truncate","keep":"1"}',
    b'{"t":"truncate","keep":true}',
    b'{"t":"truncate","keep":1.0}',
    b'{"t":"truncate","keep":' + b"9" * 5000 + b"}",
    b'{"t":"truncate"}',
    b'{"t":"msg","role":"user","content":{"a":1}}',
    b'{"t":"msg","role":"user","content":null}',
    b'{"t":"msg","role":"user","content":["x"]}',
    b'{"t":"msg","role":"system","content":"x"}',
    b'{"t":"msg","content":"x"}',
    b'{"t":"msg","role":"user","content":"x","ts":"yesterday"}',
    b'{"t":"msg","role":"user","content":"x","ts":1e400}',
    b'{"t":"msg","role":"user","content":"x","ts":NaN}',
    b'{"t":"msg","role":"user","content":"x","ts":-Infinity}',
    b'{"t":"msg","role":"assistant","content":"x","tokens":-1}',
    b'{"t":"msg","role":"assistant","content":"x","tokens":"n/a"}',
    b'{"t":"msg","role":"assistant","content":"x","status":5}',
    b'{"t":"msg","role":"assistant","content":"x","id":["x"]}',
    b'{"t":"part","id":5,"text":"x"}',
    b'{"t":"part","id":"","text":"x"}',
    b'{"t":"part","id":"1-a-1"}',
    b'{"t":"meta","model":5}',
    b'{"t":"meta","model":""}',
    b'{"t":"meta","system":{"x":1}}',
    b'{"t":"session","schema":1,"model":"openai:evil"}',  # a second header
    b'{"t":["msg"],"role":"user","content":"x"}',
    b'{"t":"end","id":"1-a-1"}',
    b"[" * 200_000,
    b"{" * 100_000,
    b'{"t":"msg","role":"user","content":"x"} trailing',
    b'"just a string"',
    b"null",
    b"\xff\xfe\x00 binary",
    b'{"t":"msg","role":"user","content":"\xc3"}',  # cut UTF-8
]


@pytest.mark.parametrize("bad", WRONG_SHAPES, ids=lambda b: b[:40].decode("ascii", "replace"))
def test_a_record_of_the_wrong_shape_is_skipped_and_changes_nothing(
    tmp_path: Path, bad: bytes
) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "one"), msg("assistant", "two"))
    path = store.path("main")
    add_raw(path, bad)
    store.append("main", msg("user", "four"))
    loaded = store.load("main")
    assert [m.content for m in loaded.data.messages] == ["one", "two", "four"]
    assert loaded.data.model == "openai:gpt-4o-mini"
    assert loaded.warnings == [
        f"1 corrupt record skipped in {path} (line 4); the file is left as it is"
    ]
    (summary,) = store.summaries()
    assert (summary.model, summary.messages) == ("openai:gpt-4o-mini", 3)
    if b'"session"' not in bad:  # a header is a valid record, but only on line 1
        with pytest.raises(Corrupt):
            parse(bad)


def test_many_corrupt_records_make_one_warning(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("user", "one"))
    path = store.path("main")
    garbage = [f"garbage line {i} {{[".encode() for i in range(800)]  # ~20 KB
    add_raw(path, *garbage)
    store.append("main", msg("user", "after"))
    add_raw(path, b"more garbage")
    loaded = store.load("main")
    assert [m.content for m in loaded.data.messages] == ["one", "after"]
    assert loaded.warnings == [
        f"801 corrupt records skipped in {path} (first at line 3); the file is left as it is"
    ]
    add_raw(path, b"x", b"y")  # a refresh reports only what it read
    store.refresh(loaded)
    assert loaded.warnings[1:] == [
        f"2 corrupt records skipped in {path} (first at line 805); the file is left as it is"
    ]


@pytest.mark.parametrize(
    "first",
    [
        json.dumps({"t": "msg", "role": "user", "content": "no header"}).encode(),
        b"garbage",
        b'{"t":"session","schema":1}',
        b'{"t":"session","schema":1,"model":""}',
        b'{"t":"session","schema":"1","model":"openai:x"}',
        b'{"t":"session","schema":0,"model":"openai:x"}',
        b"[" * 200_000,
    ],
    ids=lambda b: b[:30].decode("ascii", "replace"),
)
def test_a_file_without_a_valid_header_is_a_clear_error(tmp_path: Path, first: bytes) -> None:
    store = new_store(tmp_path, "good")
    path = store.sessions_dir / "bad.jsonl"
    path.write_bytes(first + b"\n" + json.dumps(msg("user", "x")).encode() + b"\n")
    with pytest.raises(StoreError) as info:
        store.load("bad")
    text = str(info.value)
    assert text.startswith(f"{path} is not a copilot-repl session: its first line is not a valid")
    assert "\n" not in text and len(text.replace(str(tmp_path), "")) < 260  # whatever the path
    with pytest.raises(StoreError, match="is not a copilot-repl session"):
        store.append("bad", msg("user", "y"))
    assert [s.name for s in store.summaries()] == ["good"]  # :ls goes on
    assert [w for w in store.take_warnings() if "bad.jsonl" in w] == [text]


def test_records_written_are_checked_first(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    before = store.path("main").read_bytes()
    for wrong in (
        {"t": "msg", "role": "user", "content": {"not": "text"}},
        {"t": "truncate", "keep": -1},
        {"t": "nonsense"},
    ):
        with pytest.raises(ValueError):
            store.append("main", msg("user", "fine"), wrong)
    assert store.path("main").read_bytes() == before
    loaded = store.load("main")
    with pytest.raises(ValueError):
        apply_record(loaded, {"t": "truncate", "keep": 1e400})


def test_a_lone_surrogate_round_trips(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", msg("assistant", "bad \ud800 half"))
    loaded = store.load("main")
    assert [m.content for m in loaded.data.messages] == ["bad \ud800 half"]
    assert loaded.warnings == []
    store.path("main").read_bytes().decode("utf-8")  # the file stays valid UTF-8


# "²" and "٣" are digits to str.isdigit; 4194309 is above any pid (pid_max <= 2**22)
@pytest.mark.parametrize(
    "rid", ["²-a-1", "٣-a-1", "4194309-a.²³.x-1", "-1", "9" * 400 + "-a-1", "9" * 5000 + "-a-1"]
)
def test_odd_reply_ids_load_as_interrupted_replies(tmp_path: Path, rid: str) -> None:
    store = new_store(tmp_path, "main")
    store.append("main", {"t": "part", "id": rid, "text": "half"})
    loaded = store.load("main")
    assert [(m.content, m.status) for m in loaded.data.messages] == [("half", "interrupted")]


def test_a_non_finite_number_in_an_extra_key_is_saved_as_null(tmp_path: Path) -> None:
    store = new_store(tmp_path, "main")
    reply = msg("assistant", "kept", figures={"tok_s": float("inf"), "x": [float("nan")]})
    store.append("main", reply)
    line = store.path("main").read_bytes().splitlines()[-1]
    assert json.loads(line)["figures"] == {"tok_s": None, "x": [None]}
    assert [m.content for m in store.load("main").data.messages] == ["kept"]


def test_any_key_order_and_spacing_loads(tmp_path: Path) -> None:
    store = new_store(tmp_path)
    store.ensure()
    path = store.sessions_dir / "edited.jsonl"
    path.write_text(
        '{"model": "openai:a", "schema": 1, "t": "session"}\r\n'
        '  {"content": "hi", "role": "user", "t": "msg"}\n'
        "\n"
        '{"system": "short", "model": "openai:b", "t": "meta"}\n'
        '{"keep": 1, "t": "truncate"}\n'
    )
    loaded = store.load("edited")
    data = loaded.data
    assert (data.model, data.system, [m.content for m in data.messages]) == (
        "openai:b",
        "short",
        ["hi"],
    )
    assert loaded.warnings == []
    assert [(s.model, s.messages) for s in store.summaries()] == [("openai:b", 1)]
