"""The records of a session file: their documented shapes, the one parser
that turns a line into a checked record, and the one writer (pure).

A session file is JSON Lines. Line 1 is the header; every later line is one
record. Keys may come in any order; unknown extra keys are ignored.

    {"t": "session", "schema": 2, "model": STR, "system"?: STR, "created"?: NUM, "name"?: STR,
        "file_id"?: STR, "cwd"?: STR}       file_id: random, tells this file from a later one;
                                            cwd: the working directory it was created for
    {"t": "msg", "role": "user"|"assistant", "content": STR,
        "ts"?: NUM, "status"?: STR, "model"?: STR, "tokens"?: INT>=0, "id"?: STR,
        "eid"?: STR, "parent"?: STR, "data"?: OBJ, "aborted"?: BOOL,
        "tools"?: [ROUND]}                  a reply's tool calls, before its text
                                            schema 2: eid the SDK event's id (user.message,
                                            assistant.message), parent its parent's id, data
                                            its other fields; aborted: a partial reply cut by
                                            abort() (no assistant.message; never sent again)
    {"t": "ev", "type": STR, "id": STR, "ts": STR, "parent"?: STR, "data"?: OBJ}
                                            schema 2: any other non-ephemeral SDK event, saved
                                            as it happens (ts ISO 8601; data snake_case)
    ROUND: {"text": STR, "calls": [{"id", "type": "function", "function": {"name", "arguments"}}],
        "results": [{"tool_call_id": STR, "content": STR, "ok": BOOL}]}
        (an extra key: a reader of an earlier version ignores it and sees the reply alone)
    {"t": "part", "id": STR, "text": STR}   a growing reply, saved as it streams
    {"t": "meta", "model"?: STR, "system"?: STR, "failed"?: STR, "origin"?: STR,
        "tools"?: TOOLSET}
                                            failed: the last turn failed with no reply
                                            (the error); a later message clears it
                                            origin: what made it ("oneshot", "compare"):
                                            kept out of Tab, the toolbar and :ls
                                            tools: the session's tool set, the last wins
    TOOLSET: {"v": 1, "servers": [STR], "off": [STR]}
        the MCP servers whose tools the session may call, and the tools turned off;
        v: its version (a set of a later version is ignored: the session loads
        without it; files of earlier versions have none: no tools)
    {"t": "truncate", "keep": INT}          keep only the first N messages, 0 <= N <= MAX_KEEP

Schema 1 files (older versions) have no ``ev`` records and no event keys: their
events are synthesised when read (``api/history_events.py``). Version 1 of
copilot-repl opens a schema 2 file read-only.

NUM is a finite JSON number, INT an integer (``12.0`` is accepted for
``tokens``), STR a string (``model`` non-empty). A reply is complete when a
``msg`` with the id of its ``part`` records follows. A line that is not one of
these is corrupt: ``parse`` raises ``Corrupt`` (a ``ValueError``) and never
anything else, whatever the bytes (deep nesting, huge numbers, bad UTF-8).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from copilot_repl.history.compact import Compaction, parse_compaction
from copilot_repl.history.messages import DONE, LoggedEvent, Message

SCHEMA = 2
TOOLSET_VERSION = 1  # of the ``tools`` of a meta record
MAX_KEEP = 10**9

# The C scanner behind json.loads, called directly: a third faster per line.
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]


class Corrupt(ValueError):
    """A line that is not a record of the documented shape."""


@dataclass(frozen=True, slots=True)
class Header:
    schema: int
    model: str
    system: str = ""
    created: float = 0.0
    name: str = ""
    cwd: str = ""


@dataclass(frozen=True, slots=True)
class Part:
    id: str
    text: str


@dataclass(frozen=True, slots=True)
class Meta:
    model: str | None = None
    system: str | None = None
    failed: str | None = None
    origin: str | None = None
    tools: dict[str, Any] | None = None  # TOOLSET
    summary: Compaction | None = None  # a compaction (compact.py); a bad one: None


@dataclass(frozen=True, slots=True)
class Truncate:
    keep: int


Record = Header | Message | Part | Meta | Truncate | LoggedEvent


def dumps(record: dict[str, Any]) -> bytes:
    """One record as one line of standard JSON in UTF-8: lone surrogates are
    escaped, a NaN or infinity in an extra key (the known ones are checked)
    becomes null."""
    try:
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    except ValueError:
        record = _finite(record)
        text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        return (text + "\n").encode()
    except UnicodeEncodeError:
        return (json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n").encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def parse(line: bytes, *, newer: bool = False) -> Record:
    """The record on ``line``. ``newer``: the file's schema is newer than
    ours, so only the header's schema and model are required."""
    return check(parse_json(line), newer=newer)


def parse_json(line: bytes) -> dict[str, Any]:
    """The JSON object on ``line``, or ``Corrupt``."""
    try:
        text = line.decode("utf-8").strip(" \t\r")
        obj, end = _scan(text, 0)
    except UnicodeDecodeError:
        raise Corrupt("not UTF-8") from None
    except (ValueError, StopIteration):
        raise Corrupt("not JSON") from None
    except RecursionError:
        raise Corrupt("nested too deeply") from None
    if end != len(text):
        raise Corrupt("not JSON")
    if type(obj) is not dict:
        raise Corrupt("not a JSON object")
    return obj


def check(rec: object, *, newer: bool = False) -> Record:
    """``rec`` (a decoded JSON value) as a checked record, or ``Corrupt``."""
    if type(rec) is not dict:
        raise Corrupt("not a JSON object")
    kind = rec.get("t")
    if kind == "msg":
        return _message(rec)
    if kind == "part":
        rid = _str(rec, "id")
        if not rid:
            raise Corrupt("part: empty id")
        return Part(rid, _str(rec, "text"))
    if kind == "meta":
        model = _opt_str(rec, "model")
        if model == "":
            raise Corrupt("meta: empty model")
        summary = parse_compaction(rec) if "summary" in rec else None
        return Meta(
            model,
            _opt_str(rec, "system"),
            _opt_str(rec, "failed"),
            _opt_str(rec, "origin"),
            _toolset(rec.get("tools")),
            summary,
        )
    if kind == "truncate":
        keep = rec.get("keep")
        if type(keep) is not int or not 0 <= keep <= MAX_KEEP:
            raise Corrupt("truncate: keep is not an integer from 0 to 10**9")
        return Truncate(keep)
    if kind == "ev":
        return _event(rec)
    if kind == "session":
        return _header(rec, newer=newer)
    raise Corrupt("unknown record type")


def _message(rec: dict[str, Any]) -> Message:
    # The hot path of loading: the common types are tested inline.
    role = rec.get("role")
    if role != "user" and role != "assistant":
        raise Corrupt("msg: role is not user or assistant")
    content = rec.get("content")
    if not isinstance(content, str):
        raise Corrupt("msg: content is not a string")
    ts = rec.get("ts", 0.0)
    if type(ts) is not float or not math.isfinite(ts):
        ts = _num(rec, "ts")
    tokens = rec.get("tokens", 0)
    if type(tokens) is not int or not 0 <= tokens <= 2**53:
        tokens = _count(rec, "tokens")
    status, model, rid = rec.get("status", DONE), rec.get("model", ""), rec.get("id", "")
    if not (isinstance(status, str) and isinstance(model, str) and isinstance(rid, str)):
        raise Corrupt("msg: status, model or id is not a string")
    tools = rec.get("tools")
    if tools is not None:
        tools = _rounds(tools)
    # positional (role, content, ts, status, model, tokens, id): a tenth of a load's time less
    message = Message(role, content, ts, status or DONE, model, tokens, rid)
    if tools is not None:
        message.tools = tools
    if "eid" in rec:  # schema 2
        message.eid, message.parent = _str(rec, "eid"), _opt_str(rec, "parent") or ""
        message.data = _opt_obj(rec, "data")
        message.aborted = rec.get("aborted") is True
    elif rec.get("aborted") is True:
        message.aborted = True
    return message


def _event(rec: dict[str, Any]) -> LoggedEvent:
    kind, eid, ts = _str(rec, "type"), _str(rec, "id"), _str(rec, "ts")
    if not kind or not eid:
        raise Corrupt("ev: empty type or id")
    return LoggedEvent(kind, eid, ts, _opt_str(rec, "parent") or "", _opt_obj(rec, "data"))


def _toolset(value: Any) -> dict[str, Any] | None:
    """A TOOLSET, checked (None: absent, or of a later version)."""
    if value is None:
        return None
    if type(value) is not dict or type(value.get("v")) is not int:
        raise Corrupt("meta: tools is not a versioned tool set")
    if value["v"] > TOOLSET_VERSION:
        return None
    servers, off = value.get("servers", []), value.get("off", [])
    for names in (servers, off):
        if type(names) is not list or not all(isinstance(n, str) for n in names):
            raise Corrupt("meta: tools has a servers or off that is not a list of strings")
    return {"v": value["v"], "servers": servers, "off": off}


def _opt_obj(rec: dict[str, Any], key: str) -> dict[str, Any] | None:
    value = rec.get(key)
    if value is not None and type(value) is not dict:
        raise Corrupt(f"{key} is not an object")
    return value


def _rounds(value: Any) -> list[dict[str, Any]] | None:
    """A reply's tool rounds, checked for their shape (None when empty)."""
    if type(value) is not list:
        raise Corrupt("msg: tools is not a list")
    for round_ in value:
        if type(round_) is not dict or not isinstance(round_.get("text", ""), str):
            raise Corrupt("msg: a tool round is not an object")
        calls, results = round_.get("calls"), round_.get("results")
        if type(calls) is not list or type(results) is not list:
            raise Corrupt("msg: a tool round has no calls or results list")
        for call in calls:
            function = call.get("function") if type(call) is dict else None
            if type(function) is not dict or not isinstance(call.get("id"), str):
                raise Corrupt("msg: a tool call is not an object with an id and a function")
            if not (
                isinstance(function.get("name"), str) and isinstance(function.get("arguments"), str)
            ):
                raise Corrupt("msg: a tool call's name or arguments is not a string")
        for result in results:
            if type(result) is not dict or not isinstance(result.get("content"), str):
                raise Corrupt("msg: a tool result is not an object with a content string")
            if not isinstance(result.get("tool_call_id"), str):
                raise Corrupt("msg: a tool result has no tool_call_id")
    return value or None


def _header(rec: dict[str, Any], *, newer: bool) -> Header:
    schema = rec.get("schema")
    if type(schema) is not int or schema < 1:
        raise Corrupt("session header: schema is not a positive integer")
    if schema > SCHEMA or newer:
        model = rec.get("model")
        return Header(schema, model if isinstance(model, str) else "")
    model = _str(rec, "model")
    if not model:
        raise Corrupt("session header: empty model")
    return Header(
        schema,
        model,
        _opt_str(rec, "system") or "",
        _num(rec, "created"),
        _opt_str(rec, "name") or "",
        _opt_str(rec, "cwd") or "",
    )


def _str(rec: dict[str, Any], key: str) -> str:
    value = rec.get(key)
    if not isinstance(value, str):
        raise Corrupt(f"{key} is not a string")
    return value


def _opt_str(rec: dict[str, Any], key: str) -> str | None:
    value = rec.get(key)
    if value is None and key not in rec:
        return None
    if not isinstance(value, str):
        raise Corrupt(f"{key} is not a string")
    return value


def _num(rec: dict[str, Any], key: str) -> float:
    value = rec.get(key, 0.0)
    if type(value) is float:
        if not math.isfinite(value):
            raise Corrupt(f"{key} is not a finite number")
        return value
    if type(value) is int:
        try:
            return float(value)
        except OverflowError:
            raise Corrupt(f"{key} is out of range") from None
    raise Corrupt(f"{key} is not a number")


def _count(rec: dict[str, Any], key: str) -> int:
    value = rec.get(key, 0)
    if type(value) is float and value.is_integer():
        value = int(value)
    if type(value) is not int or not 0 <= value <= 2**53:
        raise Corrupt(f"{key} is not a count")
    return value
