"""Messages and session data as plain values, and the pure functions over
them: token estimates, trimming a history to a budget, the request list."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class MessageStatus(StrEnum):
    """How a saved message ended (the strings are the on-disk values)."""

    DONE = "done"
    INTERRUPTED = "interrupted"  # cut short: cancelled, stream broke, process killed
    ERROR = "error"  # the turn failed before any text came
    TRUNCATED = "truncated"  # the server stopped it: finish_reason "length"
    FILTERED = "filtered"  # the server stopped it: finish_reason "content_filter"


DONE = MessageStatus.DONE
INTERRUPTED = MessageStatus.INTERRUPTED
ERROR = MessageStatus.ERROR


@dataclass
class Message:
    """One message of a chat: role is "user" or "assistant"."""

    role: str
    content: str
    ts: float = 0.0
    status: str = DONE
    model: str = ""
    tokens: int = 0
    id: str = ""  # user messages: send()'s message id; replies: the reply id
    # the SDK event this message is (schema 2): its id, its parent's, its other data
    eid: str = ""
    parent: str = ""
    data: dict[str, Any] | None = None
    aborted: bool = False  # a partial reply cut by abort(): shown, never sent to a model

    def to_api(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


@dataclass
class SessionData:
    """Everything saved about one session."""

    name: str
    model: str
    system: str = ""
    created: float = 0.0
    modified: float = 0.0
    cwd: str = ""  # the working directory it was created for (SDK: its context)
    messages: list[Message] = field(default_factory=list)
    # the session's event log in order (schema 2): the messages and the other
    # saved events; api/history_events.py turns it into SDK events
    log: list[Message | LoggedEvent] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """A saved SDK event other than a message (an ``ev`` record)."""

    type: str
    id: str
    ts: str  # ISO 8601, as the event's timestamp
    parent: str = ""
    data: dict[str, Any] | None = None


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: about four characters per token, plus framing."""
    return len(text) // 4 + 4


def trim_history(
    messages: Sequence[Message], system: str, budget: int
) -> tuple[list[Message], int]:
    """Drop the oldest messages until the prompt fits ``budget`` tokens.

    The system prompt and the newest message are always kept. Returns the
    messages to send and how many were left out.
    """
    if not messages:
        return [], 0
    used = estimate_tokens(system) if system else 0
    used += estimate_tokens(messages[-1].content)
    start = len(messages) - 1
    while start > 0:
        cost = estimate_tokens(messages[start - 1].content)
        if used + cost > budget:
            break
        used += cost
        start -= 1
    # A request should not open with an assistant turn that answers nothing.
    while start < len(messages) - 1 and messages[start].role != "user":
        start += 1
    return list(messages[start:]), start


def api_messages(system: str, messages: Iterable[Message]) -> list[dict[str, str]]:
    """The Chat Completions ``messages`` list: system prompt first."""
    out = [{"role": "system", "content": system}] if system else []
    out.extend(m.to_api() for m in messages if (m.content or m.role == "user") and not m.aborted)
    return out
