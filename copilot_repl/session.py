"""Sessions as plain data, and the pure functions over them (no I/O here)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .errors import BadSessionName

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Names that are devices on Windows: refused everywhere so a data dir can move.
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)}

DONE = "done"
INTERRUPTED = "interrupted"
ERROR = "error"


@dataclass
class Message:
    """One message of a chat: role is "user" or "assistant"."""

    role: str
    content: str
    ts: float = 0.0
    status: str = DONE
    model: str = ""
    tokens: int = 0

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
    messages: list[Message] = field(default_factory=list)


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid session name, else raise BadSessionName."""
    if not name:
        raise BadSessionName("a session name cannot be empty")
    if "\x00" in name or not NAME_RE.fullmatch(name):
        shown = name.replace("\x00", "\\0")[:80]
        raise BadSessionName(
            f"invalid session name {shown!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if name.split(".")[0].lower() in _RESERVED:
        raise BadSessionName(f"invalid session name {name!r}: reserved device name")
    return name


def free_name(taken: Iterable[str], base: str = "chat") -> str:
    """The first of base-1, base-2, ... not in ``taken``."""
    used = set(taken)
    i = 1
    while f"{base}-{i}" in used:
        i += 1
    return f"{base}-{i}"


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
    out.extend(m.to_api() for m in messages if m.content or m.role == "user")
    return out
