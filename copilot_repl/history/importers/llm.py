"""simonw/llm's ``logs.db`` (SQLite, opened read-only).

Two layouts, both read: llm 0.36 and later keep ``threads`` of content-
addressed ``messages`` (each with ``parts``) and per-reply ``turns``; older
versions keep ``conversations`` of ``responses`` (a prompt and its reply a
row), which llm 0.36 leaves in place as "legacy conversations". An ID is a
thread's or a conversation's id. Tool calls and results are summarised as
text lines. A database without the tables and columns used here fails with
one line naming the file and what is missing."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from copilot_repl.errors import ImportFailed
from copilot_repl.history.exchange import Imported
from copilot_repl.history.inputs import check_input, too_deep
from copilot_repl.history.messages import Message, SessionData

NEW = {
    "threads": {"id", "name", "tip_message_hash", "datetime_utc"},
    "messages": {"hash", "parent_hash", "role"},
    "parts": {"message_hash", "position", "type", "tool_name", "text", "payload"},
    "turns": {"thread_id", "tip_message_hash", "model", "output_tokens", "datetime_utc"},
}
OLD = {
    "conversations": {"id", "name", "model"},
    "responses": {"conversation_id", "prompt", "system", "response", "model", "datetime_utc"},
}
RESULT_CHARS = 400


def default_name(cid: str) -> str:
    return "llm-" + cid[-8:].lower()


def _open(path: Path) -> sqlite3.Connection:
    check_input(path, error=ImportFailed)  # a FIFO or device: one line, never a wait
    # quoted: a "?" or "#" in the path is part of the name, not of the URI
    uri = "file:" + quote(str(path.resolve())) + "?mode=ro"
    try:
        db = sqlite3.connect(uri, uri=True)
        db.execute("select count(*) from sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise ImportFailed(f"{path}: not an SQLite database llm wrote ({exc})") from None
    db.row_factory = sqlite3.Row
    return db


def _layouts(db: sqlite3.Connection, path: Path) -> tuple[bool, bool]:
    """Which layouts the file has (new threads, old conversations)."""
    tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    if "_llm_migrations" not in tables:
        raise ImportFailed(f"{path}: not an llm logs.db (no _llm_migrations table)")

    def has(layout: dict[str, set[str]]) -> bool:
        if not set(layout) <= tables:
            return False
        for table, cols in layout.items():
            found = {r[1] for r in db.execute(f'pragma table_info("{table}")')}
            missing = sorted(cols - found)
            if missing:
                raise ImportFailed(
                    f"{path}: table {table} has no column {missing[0]} "
                    "(a newer or older llm than copilot-repl reads)"
                )
        return True

    new, old = has(NEW), has(OLD)
    if not (new or old):
        raise ImportFailed(f"{path}: neither llm's threads nor its conversations tables")
    return new, old


def list_ids(path: Path) -> list[str]:
    db = _open(path)
    try:
        new, old = _layouts(db, path)
        ids: list[str] = []
        if new:
            ids += [
                str(r[0]) for r in db.execute("select id from threads order by datetime_utc, id")
            ]
        if old:
            ids += [
                str(r[0])
                for r in db.execute(
                    "select c.id from conversations c where exists (select 1 from responses r "
                    "where cast(r.conversation_id as text) = cast(c.id as text)) order by c.id"
                )
                if str(r[0]) not in ids
            ]
        return ids
    except sqlite3.Error as exc:
        raise ImportFailed(f"{path}: not understood ({exc})") from None
    finally:
        db.close()


def read(path: Path, cid: str) -> Imported:
    db = _open(path)
    try:
        new, old = _layouts(db, path)
        thread = _row(db, "threads", cid) if new else None
        if thread is not None:
            data = _thread(db, thread)
        elif old:
            data = _conversation(db, cid)
        else:
            raise ImportFailed(f"{path}: no conversation {cid!r}")
    except sqlite3.Error as exc:
        raise ImportFailed(f"{path}: not understood ({exc})") from None
    except Odd as exc:
        raise ImportFailed(f"{path}#{cid}: {exc}") from None
    finally:
        db.close()
    if not data.messages:
        raise ImportFailed(f"{path}: conversation {cid!r} has no messages")
    imported = Imported(data, f"{path}#{cid}")
    imported.extras = [{} for _ in data.messages]
    return imported


class Odd(Exception):
    """A value of a type or range llm does not write (the session is not imported)."""


def _row(db: sqlite3.Connection, table: str, cid: str) -> sqlite3.Row | None:
    """The row whose id, as text, is ``cid`` (an id stored as a number too)."""
    row: sqlite3.Row | None = db.execute(
        f"select * from {table} where id = ? or cast(id as text) = ? limit 1", (cid, cid)
    ).fetchone()
    return row


def _text(value: Any, what: str) -> str:
    """A text column's value (None: ""; a BLOB must be UTF-8)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            raise Odd(f"{what} is binary data, not text") from None
    return str(value)


def _count(value: Any, what: str) -> int:
    """A token count (None or "": 0)."""
    if value is None or value == "":
        return 0
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
        value = int(value)
    if type(value) is not int or not 0 <= value <= 2**53:
        raise Odd(f"{what} is not a token count ({value!r:.40})")
    return value


def _thread(db: sqlite3.Connection, thread: sqlite3.Row) -> SessionData:
    tid = thread["id"]
    chain = []
    seen: set[str] = set()
    h = thread["tip_message_hash"]
    while h and h not in seen:
        seen.add(h)
        row = db.execute("select hash, parent_hash, role from messages where hash = ?", (h,))
        msg = row.fetchone()
        if msg is None:
            break
        chain.append(msg)
        h = msg["parent_hash"]
    chain.reverse()
    turns = {
        r["tip_message_hash"]: r
        for r in db.execute("select * from turns where thread_id = ?", (tid,))
    }
    created = _ts(thread["datetime_utc"])
    data = SessionData(name="", model="", created=created, modified=created)
    for msg in chain:
        text = _parts_text(db, msg["hash"])
        turn = turns.get(msg["hash"])
        role = _text(msg["role"], "messages.role")
        if role == "system":
            data.system = text
        elif role == "user":
            data.messages.append(Message("user", text))
        elif data.messages and data.messages[-1].role == "assistant":
            last = data.messages[-1]  # a tool round trip: one reply
            last.content = "\n\n".join(p for p in (last.content, text) if p)
        else:
            data.messages.append(Message("assistant", text))
        if turn is not None:
            reply = data.messages[-1]
            reply.model = _text(turn["model"], "turns.model")
            reply.tokens += _count(turn["output_tokens"], "turns.output_tokens")
            reply.ts = _ts(turn["datetime_utc"])
            data.model = reply.model or data.model
            data.modified = max(data.modified, reply.ts)
    _date_prompts(data)
    return data


def _parts_text(db: sqlite3.Connection, message_hash: str) -> str:
    out = []
    rows = db.execute(
        "select type, tool_name, text, payload from parts where message_hash = ? order by position",
        (message_hash,),
    )
    for part in rows:
        kind = part["type"]
        text = None if part["text"] is None else _text(part["text"], "parts.text")
        payload = _json(part["payload"])
        tool = _text(part["tool_name"], "parts.tool_name")
        if kind == "text":
            out.append(text if text is not None else str(payload.get("text", "")))
        elif kind == "tool_call":
            args = payload.get("arguments", {})
            out.append(f"[tool call: {tool} {json.dumps(args, ensure_ascii=False)}]")
        elif kind == "tool_result":
            result = text if text is not None else str(payload.get("output", payload))
            if len(result) > RESULT_CHARS:
                result = result[:RESULT_CHARS] + "…"
            out.append(f"[tool result: {tool}: {result.strip()}]")
        elif kind == "attachment":
            out.append("[attachment]")
        # reasoning parts are left out, as llm does when it shows a conversation
    return "\n\n".join(p for p in out if p)


def _conversation(db: sqlite3.Connection, cid: str) -> SessionData:
    conv = _row(db, "conversations", cid)
    if conv is None:
        raise ImportFailed(f"no conversation {cid!r}")
    data = SessionData(name="", model=_text(conv["model"], "conversations.model"))
    rows = db.execute(
        "select * from responses where cast(conversation_id as text) = ? order by datetime_utc, id",
        (str(conv["id"]),),
    )
    for r in rows:
        ts = _ts(r["datetime_utc"])
        data.created = data.created or ts
        data.modified = max(data.modified, ts)
        system = _text(r["system"], "responses.system")
        if system and not data.system:
            data.system = system
        prompt = _text(r["prompt"], "responses.prompt")
        if prompt:
            data.messages.append(Message("user", prompt, ts=ts))
        columns = r.keys()  # a Row's "in" looks at values
        tokens = (
            _count(r["output_tokens"], "responses.output_tokens")
            if "output_tokens" in columns
            else 0
        )
        model = _text(r["model"], "responses.model") or data.model
        response = _text(r["response"], "responses.response")
        data.messages.append(Message("assistant", response, ts=ts, model=model, tokens=tokens))
    return data


def _date_prompts(data: SessionData) -> None:
    """A prompt's time is its reply's (llm records the turn, not the prompt)."""
    for i, msg in enumerate(data.messages):
        if msg.role == "user" and not msg.ts:
            later = [m.ts for m in data.messages[i + 1 :] if m.ts]
            msg.ts = later[0] if later else data.created


def _json(text: Any) -> dict[str, Any]:
    try:
        value = json.loads(text) if text else {}
    except (ValueError, TypeError, RecursionError):
        return {}
    return value if isinstance(value, dict) and not too_deep(value) else {}


def _ts(value: Any) -> float:
    if not value or not isinstance(value, str):
        return 0.0
    text = value.replace("Z", "+00:00").replace(" ", "T", 1)
    try:
        dt = datetime.fromisoformat(text)
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=UTC)
        return dt.timestamp()
    except (ValueError, OverflowError):
        return 0.0
