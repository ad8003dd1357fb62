"""Messages and session data as plain values, and the pure functions over
them: token estimates, trimming a history to a budget, the request list."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copilot_repl.history.log import Log, Messages


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
    # replies: the rounds of tool calls before the text, each
    # {"text", "calls": [OpenAI tool_calls], "results": [{"tool_call_id", "content", "ok"}]}
    tools: list[dict[str, Any]] | None = None

    def to_api(self) -> dict[str, Any]:
        """As a request message: with its images, a list of content parts
        (OpenAI's: the text, then one ``image_url`` part each, a data URL)."""
        images = self.images
        if not images:
            return {"role": self.role, "content": self.content}
        parts: list[dict[str, Any]] = [{"type": "text", "text": self.content}]
        for image in images:
            url = f"data:{image['mime_type']};base64,{image['data']}"
            parts.append({"type": "image_url", "image_url": {"url": url}})
        return {"role": self.role, "content": parts}

    @property
    def images(self) -> list[dict[str, Any]]:
        """The images attached to a prompt: the SDK's blob attachments saved
        in its data (``api/options.load_attachment`` makes them)."""
        found = (self.data or {}).get("attachments") if self.role == "user" else None
        if not isinstance(found, list):
            return []
        return [
            a
            for a in found
            if isinstance(a, dict)
            and a.get("type") == "blob"
            and str(a.get("mime_type", "")).startswith("image/")
            and isinstance(a.get("data"), str)
        ]

    def api_list(self) -> list[dict[str, Any]]:
        """The request messages it stands for: its tool rounds (each the
        assistant's calls, then one ``tool`` message a call), then its text."""
        out: list[dict[str, Any]] = []
        for round_ in self.tools or ():
            calls = round_.get("calls") or []
            out.append(
                {"role": "assistant", "content": round_.get("text", ""), "tool_calls": calls}
            )
            out += [
                {
                    "role": "tool",
                    "tool_call_id": r.get("tool_call_id", ""),
                    "content": r.get("content", ""),
                }
                for r in round_.get("results") or []
            ]
        if self.content or self.role == "user":
            out.append(self.to_api())
        return out

    @property
    def size(self) -> int:
        """Characters it takes in a request (its tool rounds included)."""
        if not self.tools:
            return len(self.content)
        return len(self.content) + len(json.dumps(self.tools, ensure_ascii=False))


@dataclass
class SessionData:
    """Everything saved about one session."""

    name: str
    model: str
    system: str = ""
    created: float = 0.0
    modified: float = 0.0
    cwd: str = ""  # the working directory it was created for (SDK: its context)
    # the session's event log in order (schema 2): the messages and the other
    # saved events; api/history_events.py turns it into SDK events. Older
    # entries of a long one stay on disk until asked for (history/log.py)
    log: Log = field(default_factory=lambda: _log_module().Log())
    messages: Messages = field(init=False)  # the messages of the log, in order
    # its tool set (records.py, TOOLSET), the last saved; None: none was saved
    tools: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        self.messages = _log_module().Messages(self.log)


def _log_module() -> Any:
    """history/log.py, which builds on ``Message`` (a module-level import
    would be a circle)."""
    from copilot_repl.history import log  # here: log.py imports this module (a circle)

    return log


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
    used += message_tokens(messages[-1])
    start = len(messages) - 1
    while start > 0:
        cost = message_tokens(messages[start - 1])
        if used + cost > budget:
            break
        used += cost
        start -= 1
    # A request should not open with an assistant turn that answers nothing.
    while start < len(messages) - 1 and messages[start].role != "user":
        start += 1
    return list(messages[start:]), start


IMAGE_TOKENS = 800  # an image's tokens, estimated (OpenAI's: 85 + 170 a 512-pixel tile)


def message_tokens(message: Message) -> int:
    """Its tokens, estimated (a reply's tool calls and results count: they are
    sent with it, and a round is never split from its results; an image
    counts as ``IMAGE_TOKENS``, not as its bytes)."""
    images = len(message.images) * IMAGE_TOKENS if message.data else 0
    if not message.tools:
        return estimate_tokens(message.content) + images
    return message.size // 4 + 4 + images


def api_messages(system: str, messages: Iterable[Message]) -> list[dict[str, Any]]:
    """The Chat Completions ``messages`` list: system prompt first."""
    out: list[dict[str, Any]] = [{"role": "system", "content": system}] if system else []
    for m in messages:
        if m.aborted:
            continue
        if m.tools:
            out += m.api_list()
        elif m.content or m.role == "user":
            out.append(m.to_api())
    return out
