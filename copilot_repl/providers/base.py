"""What every provider is: ``stream`` one reply, plus the few things callers
ask of it, each with a no-op default so a provider states only what it adds."""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from copilot_repl.config import ProviderSettings

DeltaFn = Callable[[str], None]
StatusFn = Callable[[str], None]
# Asks the user a yes/no question ("the model asks to use X; allow it?").
AskFn = Callable[[str], Awaitable[bool]]

# Per task, set by api/turn.run_turn: headers the turn's requests carry beside
# the provider's own (the SDK's ``send(..., request_headers=...)``).
REQUEST_HEADERS: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "copilot_repl_request_headers", default=None
)


def has_images(messages: list[dict[str, Any]]) -> bool:
    """Whether a request's messages hold an image (a list of content parts
    with an ``image_url`` one: ``Message.to_api``)."""
    return any(
        isinstance(m.get("content"), list)
        and any(p.get("type") == "image_url" for p in m["content"] if isinstance(p, dict))
        for m in messages
    )


@dataclass
class ToolCall:
    """A tool the model asks to call: ``arguments`` as the model sent them
    (JSON text, which may be malformed: the caller decides what to tell it)."""

    id: str
    name: str
    arguments: str = ""


@dataclass
class ReplyEnd:
    """How a streamed reply ended."""

    text: str
    finish_reason: str | None
    completion_tokens: int | None = None
    prompt_tokens: int | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)


class Provider:
    """Base of the providers (``openai``, ``local``, ``copilot``)."""

    config: ProviderSettings
    # Set when the user agreed to send a key over plain http (the shell asks).
    allow_insecure: bool = False
    # True: follows its request's hold (providers/priority.py) and releases it
    # once the request is written; otherwise the turn releases it at once.
    follows_hold: bool = False

    async def stream(
        self,
        model: str,
        messages: list[dict[str, Any]],
        on_delta: DeltaFn,
        on_status: StatusFn,
        *,
        session_id: str = "",
        ask_permission: AskFn | None = None,
        params: Mapping[str, Any] | None = None,
        tools: list[dict[str, Any]] | None = None,
    ) -> ReplyEnd:
        """Stream one reply to ``messages``. ``session_id``: the session it is
        for (a provider that keeps state per session keys it so);
        ``params``: request parameters of this session (the SDK's
        ``reasoning_effort``), sent by providers whose API takes them;
        ``ask_permission``: how to ask this session's user about a tool the
        model wants to use during this reply (None: refuse); ``tools``: OpenAI
        function definitions the model may call (its calls come back in
        ``ReplyEnd.tool_calls``; a provider that cannot offer tools raises
        ``UsageError`` when given some)."""
        raise NotImplementedError

    async def list_models(self) -> list[str]:
        return []

    def warm(self) -> None:
        """Get ready for a first prompt in the background (a session using
        this provider was opened); called with the event loop running."""

    def prepare(self) -> None:
        """Load, now, what any request needs and costs nothing to hold (a
        session using this provider was created or resumed): the first send
        does not pay for it. A failure is not said here: the send says it."""

    def insecure_host(self) -> str | None:
        """The host an API key would go to in clear text, if not yet allowed."""
        return None

    async def forget_session(self, session_id: str) -> None:
        """Drop any state the provider keeps for a deleted session."""

    async def aclose(self) -> None:
        """Release connections and processes."""
