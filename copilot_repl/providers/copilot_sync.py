"""What a CLI session has seen of our history, and seeding a fresh one."""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

DEFAULT_SYSTEM = "You are a helpful assistant."

Message = dict[str, Any]


@dataclass
class Synced:
    """The CLI session of one copilot-repl session, as of its last turn."""

    provider: str
    model: str
    system: str  # the system message it was created with
    seen: int  # how many of our messages it has seen (system prompt included)
    digest: str  # of those messages


def digest(messages: list[Message]) -> str:
    data = json.dumps([[m["role"], m["content"]] for m in messages], ensure_ascii=False)
    return hashlib.sha256(data.encode("utf-8", "surrogatepass")).hexdigest()


class SyncFiles:
    """``repl-sync/ID.json`` sidecars, one per session."""

    def __init__(self, root: Path) -> None:
        self.root = root / "repl-sync"

    def path(self, sid: str) -> Path:
        return self.root / f"{sid}.json"

    def load(self, sid: str) -> Synced | None:
        try:
            raw = json.loads(self.path(sid).read_text(encoding="utf-8"))
            return Synced(**raw) if isinstance(raw, dict) else None
        except (OSError, ValueError, TypeError, RecursionError):
            return None

    def save(self, sid: str, synced: Synced) -> None:
        with contextlib.suppress(OSError):
            self.root.mkdir(parents=True, exist_ok=True)
            tmp = self.path(sid).with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(synced)), encoding="utf-8")
            tmp.replace(self.path(sid))

    def drop(self, sid: str) -> None:
        with contextlib.suppress(OSError):
            self.path(sid).unlink()


def system_text(messages: list[Message]) -> str:
    head = messages[0] if messages and messages[0]["role"] == "system" else None
    return head["content"] if head and head["content"].strip() else DEFAULT_SYSTEM


def seeded_system(messages: list[Message]) -> str:
    """The system message of a CLI session that takes over from ``messages``
    (our history before the new prompt): the system prompt, then the transcript."""
    system = system_text(messages)
    turns = [m for m in messages if m["role"] != "system"]
    if not turns:
        return system
    lines = [
        system,
        "",
        "This conversation started earlier; here is the transcript so far. "
        "Continue it: answer the next user message.",
    ]
    for m in turns:
        lines += ["", *_transcript_lines(m)]
    return "\n".join(lines)


def _transcript_lines(m: dict[str, Any]) -> list[str]:
    """One message in the seed transcript (a tool round: each call, each result)."""
    if m["role"] == "tool":
        return [f"Tool result: {m['content']}"]
    who = "User" if m["role"] == "user" else "Assistant"
    lines = [f"{who}: {m['content']}"] if m["content"] or not m.get("tool_calls") else []
    for call in m.get("tool_calls") or ():
        function = call.get("function") or {}
        lines.append(
            f"Assistant called the tool {function.get('name')}: {function.get('arguments')}"
        )
    return lines


# -- one turn ----------------------------------------------------------------
