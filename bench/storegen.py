"""Saved sessions written straight to disk, in copilot-repl's session format
(see ``copilot_repl/store.py``): a header line, then one ``msg`` record per
message, as the client itself writes them."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

MODEL = "openai:gpt-4o-mini"
_VOCABULARY = (
    "the a of to and in is for on that with as this by from it be are or an at which "
    "stream reply session model token server client prompt render markdown terminal "
    "python async buffer write read file disk line record header parse list item code"
)
_WORDS = _VOCABULARY.split()


def _text(rng: random.Random, words: int) -> str:
    out = []
    for i in range(words):
        out.append(rng.choice(_WORDS))
        if i % 23 == 22:
            out.append(".\n\n" if i % 69 == 68 else ".")
    return " ".join(out)


def _dumps(rec: dict[str, object]) -> str:
    return json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n"


class Texts:
    """Pools of prompts (15-40 words) and replies (80-250 words) to draw from:
    generating every message afresh would make the set-up slower than the bench."""

    def __init__(self, rng: random.Random, size: int = 256) -> None:
        self.rng = rng
        self.prompts = [_text(rng, rng.randint(15, 40)) for _ in range(size)]
        self.replies = [_text(rng, rng.randint(80, 250)) for _ in range(size)]

    def prompt(self) -> str:
        return self.rng.choice(self.prompts)

    def reply(self) -> str:
        return self.rng.choice(self.replies)


def write_session(
    sessions_dir: Path, name: str, messages: int, *, created: float, texts: Texts
) -> int:
    """Write ``name`` with ``messages`` alternating user / assistant messages;
    returns its size in bytes."""
    lines = [
        _dumps(
            {
                "t": "session",
                "schema": 1,
                "name": name,
                "model": MODEL,
                "system": "",
                "created": created,
            }
        )
    ]
    ts = created
    for i in range(messages):
        ts += 7.0
        if i % 2 == 0:
            lines.append(_dumps({"t": "msg", "role": "user", "content": texts.prompt(), "ts": ts}))
        else:
            content = texts.reply()
            lines.append(
                _dumps(
                    {
                        "t": "msg",
                        "id": f"1-{i}-{int(ts * 1e9)}",
                        "role": "assistant",
                        "content": content,
                        "ts": ts,
                        "status": "done",
                        "model": MODEL,
                        "tokens": len(content) // 4,
                    }
                )
            )
    data = "".join(lines).encode()
    path = sessions_dir / f"{name}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.utime(path, (ts, ts))
    return len(data)


def make_store(
    root: Path, sessions: int, messages: int, *, prefix: str = "s", seed: int = 7
) -> int:
    """A data dir with ``sessions`` sessions of ``messages`` messages each;
    returns the total size in bytes."""
    sessions_dir = root / "sessions"
    sessions_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    texts = Texts(random.Random(seed))
    total = 0
    base = 1_700_000_000.0
    for i in range(sessions):
        total += write_session(
            sessions_dir, f"{prefix}{i:04d}", messages, created=base + i * 3600.0, texts=texts
        )
    return total


# One tool round as the client saves it (schema 2): the request for tools, then
# the execution's events; the reply's msg record carries the round ("tools").
_TOOL_EVENTS = (
    "tool.execution_start",
    "permission.requested",
    "permission.completed",
    "external_tool.requested",
    "external_tool.completed",
    "tool.execution_complete",
)


def _iso(ts: float) -> str:
    import datetime

    return datetime.datetime.fromtimestamp(ts, datetime.UTC).isoformat()


class _Log:
    """Writes event-log records, each chained to the one before."""

    def __init__(self, out: list[str]) -> None:
        self.out = out
        self.n = 0
        self.last = ""

    def eid(self) -> str:
        self.n += 1
        return f"00000000-0000-4000-8000-{self.n:012x}"

    def ev(self, kind: str, ts: float, data: dict[str, object]) -> None:
        eid = self.eid()
        rec: dict[str, object] = {"t": "ev", "type": kind, "id": eid, "ts": _iso(ts), "data": data}
        if self.last:
            rec["parent"] = self.last
        self.out.append(_dumps(rec))
        self.last = eid

    def msg(self, rec: dict[str, object]) -> None:
        eid = self.eid()
        rec["eid"] = eid
        if self.last:
            rec["parent"] = self.last
        self.out.append(_dumps(rec))
        self.last = eid


def _reply(rng: random.Random, texts: Texts) -> str:
    """Mixed lengths: mostly a paragraph or three, some one-liners, a few long
    answers with code."""
    roll = rng.random()
    if roll < 0.25:
        return _text(rng, rng.randint(3, 30))
    if roll < 0.985:
        return texts.reply()
    code = "\n".join(f"    value_{i} = compute(value_{i - 1}, {i})" for i in range(1, 120))
    return f"{texts.reply()}\n\n```python\ndef run():\n{code}\n```\n\n{texts.reply()}"


def write_long_session(
    sessions_dir: Path, name: str, messages: int, *, seed: int = 26, tool_every: int = 5
) -> int:
    """Write ``name``: a schema 2 session of ``messages`` messages (prompts and
    replies alternating, of mixed length) with the event log a live session
    saves: turn start and end around each reply, and every ``tool_every``-th
    reply a tool round with its events. Returns its size in bytes."""
    rng = random.Random(seed)
    texts = Texts(rng)
    created = 1_700_000_000.0
    path = sessions_dir / f"{name}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    size = 0
    ts = created
    try:
        out: list[str] = []
        log = _Log(out)
        out.append(
            _dumps(
                {
                    "t": "session",
                    "schema": 2,
                    "file_id": f"{seed:016x}",
                    "name": name,
                    "model": MODEL,
                    "system": "",
                    "created": created,
                }
            )
        )
        log.ev("session.start", ts, {"session_id": name, "version": 1, "producer": "bench"})
        for i in range(messages):
            ts += 7.0
            turn = i // 2
            if i % 2 == 0:
                log.msg(
                    {
                        "t": "msg",
                        "role": "user",
                        "content": texts.prompt(),
                        "ts": ts,
                        "id": f"1-{i}",
                        "data": {"delivery": "idle"},
                    }
                )
            else:
                _write_reply(log, rng, texts, ts, turn, tools=turn % tool_every == tool_every - 1)
            if len(out) > 2000 or i == messages - 1:
                data = "".join(out).encode()
                os.write(fd, data)
                size += len(data)
                out.clear()
    finally:
        os.close(fd)
    os.utime(path, (ts, ts))
    return size


def _write_reply(
    log: _Log, rng: random.Random, texts: Texts, ts: float, turn: int, *, tools: bool
) -> None:
    tid = f"1-{turn}-r"
    log.ev("assistant.turn_start", ts, {"turn_id": tid, "interaction_id": "gpt-4o-mini"})
    rounds: list[dict[str, object]] = []
    if tools:
        call = f"call_{turn}"
        args = {"path": f"src/module_{turn % 97}.py", "pattern": "def .*"}
        result = "\n".join(texts.prompt() for _ in range(rng.randint(1, 3)))
        log.ev(
            "assistant.message",
            ts,
            {
                "content": "",
                "message_id": f"{tid}.tools",
                "tool_requests": [{"name": "grep", "tool_call_id": call, "arguments": args}],
                "turn_id": tid,
            },
        )
        for kind in _TOOL_EVENTS:
            data: dict[str, object] = {"tool_call_id": call, "tool_name": "grep"}
            if kind == "tool.execution_complete":
                data = {"tool_call_id": call, "success": True, "result": {"content": result}}
            log.ev(kind, ts, data)
        log.ev("assistant.turn_end", ts, {"turn_id": tid})
        log.ev("assistant.turn_start", ts, {"turn_id": f"{tid}.1"})
        wire = {"name": "grep", "arguments": json.dumps(args)}
        rounds.append(
            {
                "text": "",
                "calls": [{"id": call, "type": "function", "function": wire}],
                "results": [{"tool_call_id": call, "content": result, "ok": True}],
            }
        )
    content = _reply(rng, texts)
    rec: dict[str, object] = {
        "t": "msg",
        "id": tid,
        "role": "assistant",
        "content": content,
        "ts": ts,
        "status": "done",
        "model": MODEL,
        "tokens": len(content) // 4,
        "data": {"turn_id": tid},
    }
    if rounds:
        rec["tools"] = rounds
    log.msg(rec)
    log.ev("assistant.turn_end", ts, {"turn_id": tid})
