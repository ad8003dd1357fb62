"""GitHub Copilot CLI sessions: ``session-state/ID/events.jsonl``, one JSON
event a line (``session.start``, ``user.message``, ``assistant.message``,
``tool.execution_complete``, ``session.model_change``, ...), as written by
the CLI (read with version 1.0.102's files; ``session.start`` says
``"version": 1``).

Each user message becomes a user message; everything the assistant said and
did until the next user message becomes one assistant message, its tool
calls and their results summarised as text lines. The model is the CLI's
(``copilot:MODEL``); times come from the events. Event types not listed are
skipped (the CLI writes many kinds of bookkeeping); a line that is not a JSON
event, a missing ``session.start`` or a newer format version fails."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from copilot_repl.errors import ImportFailed
from copilot_repl.history.exchange import MAX_IMPORT_FILE, Imported
from copilot_repl.history.inputs import loads, read_bytes
from copilot_repl.history.messages import INTERRUPTED, Message, SessionData

VERSION = 1
EVENTS = "events.jsonl"
RESULT_CHARS = 400  # of a tool's output kept in the summary
_ODD = (OverflowError, RecursionError)  # a date out of range, JSON in a string nested too deep


def list_ids(path: Path) -> list[str]:
    """Session ids under a session-state folder (or the one folder or file given)."""
    if path.is_file():
        return [path.parent.name]
    if (path / EVENTS).is_file():
        return [path.name]
    return sorted(p.parent.name for p in path.glob(f"*/{EVENTS}"))


def default_name(sid: str) -> str:
    return "copilot-" + (sid[:8] if sid[:1].isalnum() else "session")


def read(path: Path, sid: str) -> Imported:
    if path.is_file():
        file = path
    elif (path / EVENTS).is_file():
        file = path / EVENTS
    else:
        file = path / sid / EVENTS
    raw = read_bytes(file, limit=MAX_IMPORT_FILE, error=ImportFailed)
    events = []
    for n, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        event = loads(
            line, where=f"{file}, line {n}", error=ImportFailed, not_json="not a JSON event"
        )
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise ImportFailed(f'{file}, line {n}: not a Copilot CLI event (no "type")')
        if not isinstance(event.get("data", {}), dict):
            raise ImportFailed(f'{file}, line {n}: {event["type"]}: "data" is not an object')
        events.append(event)
    return Builder(file).run(events)


class Builder:
    def __init__(self, file: Path) -> None:
        self.file = file
        self.data = SessionData(name="", model="")
        self.reply: list[str] = []
        self.reply_ts = 0.0
        self.reply_model = ""
        self.reply_tokens = 0
        self.aborted = False
        self.started = False

    def run(self, events: list[dict[str, Any]]) -> Imported:
        handlers: dict[str, Callable[[dict[str, Any], float], None]] = {
            "session.start": self.on_session_start,
            "session.resume": self.on_session_resume,
            "session.model_change": self.on_session_model_change,
            "user.message": self.on_user_message,
            "assistant.message": self.on_assistant_message,
            "session.usage_record": self.on_session_usage_record,
            "tool.execution_complete": self.on_tool_execution_complete,
            "abort": self.on_abort,
        }  # the other events say nothing a transcript keeps
        for event in events:
            data = event.get("data") or {}
            handler = handlers.get(event["type"])
            if handler is not None:
                try:
                    handler(data, _ts(event.get("timestamp")))
                except (TypeError, ValueError, AttributeError, KeyError, *_ODD) as exc:
                    raise ImportFailed(
                        f"{self.file}: {event['type']} event not understood ({exc})"
                    ) from None
            if event["type"] != "session.start" and not self.started:
                raise ImportFailed(f"{self.file}: does not start with a session.start event")
            try:
                self.data.modified = max(self.data.modified, _ts(event.get("timestamp")))
            except (ValueError, *_ODD) as exc:
                raise ImportFailed(f"{self.file}: {event['type']}: timestamp ({exc})") from None
        if not self.started:
            raise ImportFailed(f"{self.file}: no session.start event (not a Copilot CLI session?)")
        self.end_reply()
        if not self.data.model:
            self.data.model = "copilot"  # the CLI's default: the provider's default model
        imported = Imported(self.data, str(self.file))
        imported.extras = [{} for _ in self.data.messages]
        return imported

    # -- events ----------------------------------------------------------
    def on_session_start(self, d: dict[str, Any], ts: float) -> None:
        version = d.get("version", VERSION)
        if type(version) is not int or version > VERSION:
            made_by = d.get("copilotVersion") or "a newer Copilot CLI"
            raise ImportFailed(
                f"{self.file}: session format version {version!r} (from {made_by}) is newer "
                f"than copilot-repl reads ({VERSION})"
            )
        self.started = True
        self.data.created = _ts(d.get("startTime")) or ts
        self.set_model(d.get("selectedModel"))

    def on_session_resume(self, d: dict[str, Any], ts: float) -> None:
        self.set_model(d.get("selectedModel"))

    def on_session_model_change(self, d: dict[str, Any], ts: float) -> None:
        self.set_model(d.get("newModel"))

    def on_user_message(self, d: dict[str, Any], ts: float) -> None:
        self.end_reply()
        content = d["content"]
        if not isinstance(content, str):
            raise TypeError("content is not a string")
        self.data.messages.append(Message("user", content, ts=ts))

    def on_assistant_message(self, d: dict[str, Any], ts: float) -> None:
        text = d.get("content") or ""
        if text:
            self.reply.append(str(text))
        for req in d.get("toolRequests") or []:
            args = req.get("arguments")
            shown = json.dumps(args, ensure_ascii=False) if args is not None else ""
            self.reply.append(f"[tool call: {req.get('name', '?')} {shown}]".replace(" ]", "]"))
        self.reply_ts = ts
        if d.get("model"):
            self.reply_model = str(d["model"])
        tokens = d.get("outputTokens")
        if type(tokens) is int:
            self.reply_tokens += tokens

    def on_session_usage_record(self, d: dict[str, Any], ts: float) -> None:
        usage = d.get("usage")
        if isinstance(usage, str):
            usage = json.loads(usage)
        if isinstance(usage, dict) and type(usage.get("outputTokens")) is int:
            self.reply_tokens += usage["outputTokens"]

    def on_tool_execution_complete(self, d: dict[str, Any], ts: float) -> None:
        result = d.get("result") or {}
        text = result.get("content") if isinstance(result, dict) else None
        if not isinstance(text, str):
            text = json.dumps(result, ensure_ascii=False) if result else ""
        text = text.strip()
        if len(text) > RESULT_CHARS:
            text = text[:RESULT_CHARS] + "…"
        status = "" if d.get("success", True) else " (failed)"
        self.reply.append(f"[tool result{status}: {text}]")
        self.reply_ts = ts

    def on_abort(self, d: dict[str, Any], ts: float) -> None:
        self.aborted = True

    # -- helpers ---------------------------------------------------------
    def set_model(self, model: Any) -> None:
        if isinstance(model, str) and model:
            self.data.model = f"copilot:{model}"

    def end_reply(self) -> None:
        if self.reply or self.aborted:
            model = f"copilot:{self.reply_model}" if self.reply_model else self.data.model
            self.data.messages.append(
                Message(
                    "assistant",
                    "\n\n".join(self.reply),
                    ts=self.reply_ts,
                    status=INTERRUPTED if self.aborted else "done",
                    model=model,
                    tokens=self.reply_tokens,
                )
            )
        self.reply, self.reply_model, self.reply_tokens, self.aborted = [], "", 0, False


def _ts(value: Any) -> float:
    if not isinstance(value, str) or not value:
        return 0.0
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
