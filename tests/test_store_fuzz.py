"""Property-based tests of the loader: random and mutated files never raise
anything but the documented errors; ``:ls`` (``summaries``, with its cache)
always says what a full load says, for every record shape, key order and
spacing."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot_repl.errors import SessionNotFound, StoreError
from copilot_repl.history.records import Corrupt, parse
from copilot_repl.history.store import PROCESS_TOKEN, Loaded, Store

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


DEAD = f"{_dead_pid()}-0badc0de"  # a writer that is gone: its parts load as interrupted
LIVE = PROCESS_TOKEN  # this process: its parts are still streaming

texts = st.text(max_size=20)
models = st.sampled_from(["openai:a", "openai:b", "local:c", "x:" + "é" * 3])
numbers = st.one_of(st.integers(0, 2**40), st.floats(0, 1e12, allow_nan=False))
rids = st.builds(lambda who, n: f"{who}-{n}", st.sampled_from([DEAD, LIVE]), st.integers(1, 4))


def _msg(role: str, content: str, extra: dict[str, Any]) -> dict[str, Any]:
    return {"t": "msg", "role": role, "content": content, **extra}


msg_extra = st.fixed_dictionaries(
    {},
    optional={
        "ts": numbers,
        "status": st.sampled_from(["done", "interrupted", "error", "truncated", "odd"]),
        "model": models,
        "tokens": st.integers(0, 10**6),
        "id": rids,
        "figures": st.dictionaries(texts, st.integers(), max_size=2),  # an unknown key
    },
)
records = st.one_of(
    st.builds(_msg, st.sampled_from(["user", "assistant"]), texts, msg_extra),
    st.builds(lambda rid, text: {"t": "part", "id": rid, "text": text}, rids, texts),
    st.fixed_dictionaries({"t": st.just("meta")}, optional={"model": models, "system": texts}),
    st.builds(lambda keep: {"t": "truncate", "keep": keep}, st.integers(0, 12)),
)
garbage = st.one_of(
    st.binary(max_size=40).filter(lambda b: b"\n" not in b),
    st.sampled_from(
        [
            b'{"t":"truncate","keep":1e400}',
            b'{"t":"truncate","keep":-1}',
            b'{"t":"msg","role":"user","content":{"a":1}}',
            b'{"t":"meta","model":""}',
            b'{"t":"session","schema":1,"model":"openai:z"}',
            b"[" * 5000,
            b"",
        ]
    ),
)


def render(rec: dict[str, Any], rng: random.Random) -> bytes:
    """One record as a line, keys in a random order, with random spacing."""
    items = list(rec.items())
    rng.shuffle(items)
    seps = rng.choice([(",", ":"), (", ", ": "), (",", ": ")])
    line = json.dumps(dict(items), ensure_ascii=rng.random() < 0.5, separators=seps)
    return (" " * rng.randint(0, 1) + line).encode()


def header(model: str) -> dict[str, Any]:
    return {"t": "session", "schema": 1, "name": "s", "model": model, "created": 5.0}


lines = st.lists(st.one_of(records.map(lambda r: (r, None)), garbage.map(lambda g: (None, g))))


def write(path: Path, rng: random.Random, batch: list[tuple[Any, bytes | None]]) -> None:
    with open(path, "ab") as f:
        for rec, raw in batch:
            f.write((render(rec, rng) if rec is not None else raw or b"") + b"\n")


def full_load(root: Path, name: str) -> tuple[str, int]:
    data = Store(root).load(name).data
    return data.model, len(data.messages)


@FUZZ
@given(model=models, batches=st.lists(lines, min_size=1, max_size=4), seed=st.integers())
def test_summaries_say_what_a_full_load_says(
    tmp_path: Path, model: str, batches: list[list[tuple[Any, bytes | None]]], seed: int
) -> None:
    root = tmp_path / f"r{seed & 0xFFFF}-{len(batches)}-{os.urandom(4).hex()}"
    store = Store(root)
    store.ensure()
    path = store.sessions_dir / "s.jsonl"
    rng = random.Random(seed)
    write(path, rng, [(header(model), None)])
    for batch in batches:  # appends between two :ls, so the cache is used and refreshed
        write(path, rng, batch)
        (summary,) = store.summaries()
        assert (summary.model, summary.messages) == full_load(root, "s")
        (again,) = store.summaries()  # from the cache when nothing is streaming
        assert again == summary


@FUZZ
@given(data=st.binary(max_size=400))
def test_random_bytes_load_or_fail_with_a_documented_error(tmp_path: Path, data: bytes) -> None:
    check_file(tmp_path, data)


def valid_file(rng: random.Random, recs: list[dict[str, Any]]) -> bytes:
    return b"".join(render(r, rng) + b"\n" for r in [header("openai:a"), *recs])


def mutate(raw: bytes, rng: random.Random, edits: int) -> bytes:
    buf = bytearray(raw)
    for _ in range(edits):
        op = rng.randrange(6)
        at = rng.randrange(len(buf) + 1)
        if op == 0 and buf:  # flip a byte
            buf[min(at, len(buf) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:  # insert junk
            buf[at:at] = rng.choice([b"\n", b"[[[[", b"1e400", b'"', b"\\", b"\xff", b"}"])
        elif op == 2:  # cut the file short (a crash)
            del buf[at:]
        elif op == 3:  # delete a span
            del buf[at : at + rng.randint(1, 8)]
        elif op == 4:  # duplicate a span
            buf[at:at] = buf[max(0, at - 10) : at]
        else:  # a number out of range
            buf[at:at] = b"9" * rng.randint(300, 5000)
    return bytes(buf)


@FUZZ
@given(recs=st.lists(records, max_size=12), seed=st.integers(), edits=st.integers(1, 6))
def test_mutated_files_load_or_fail_with_a_documented_error(
    tmp_path: Path, recs: list[dict[str, Any]], seed: int, edits: int
) -> None:
    rng = random.Random(seed)
    check_file(tmp_path, mutate(valid_file(rng, recs), rng, edits))


def check_file(tmp_path: Path, data: bytes) -> None:
    root = tmp_path / os.urandom(6).hex()
    store = Store(root)
    store.ensure()
    (store.sessions_dir / "f.jsonl").write_bytes(data)
    try:
        loaded: Loaded | None = store.load("f")
    except StoreError as exc:
        assert "\n" not in str(exc)
        loaded = None
    except SessionNotFound:
        raise AssertionError("the file is there") from None
    if loaded is not None:
        assert all(isinstance(m.content, str) for m in loaded.data.messages)
        assert all("\n" not in w for w in loaded.warnings) and len(loaded.warnings) <= 3
        try:
            store.append("f", {"t": "msg", "role": "user", "content": "after"})
        except StoreError:
            pass
        else:
            assert store.refresh(loaded)
            assert loaded.data.messages[-1].content == "after"
    summaries = store.summaries()  # never raises; a bad file is skipped, reported
    assert len(summaries) + len(store.take_warnings()) >= 1


@FUZZ
@given(line=st.binary(max_size=200))
def test_parse_gives_a_record_or_corrupt(line: bytes) -> None:
    try:
        record = parse(line)
    except Corrupt as exc:
        assert str(exc)
    else:
        assert record is not None
