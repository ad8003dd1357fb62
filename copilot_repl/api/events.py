"""Session events, as in the Copilot SDK (``copilot.generated.session_events``).

``event.type`` is a ``SessionEventType``; ``event.data`` is one typed data
class per event type, so ``match event.data: case AssistantMessageData():``
works as with the SDK. The types a turn emits, in order::

    user.message              data.content: the prompt (data.message_id: send()'s id)
    pending_messages.modified the queue of prompts waiting for this session changed
    assistant.turn_start      data.turn_id, data.model: the request is on its way
    assistant.message_delta   data.delta_content (only with streaming on, as in the SDK)
    assistant.message         data.content, data.message_id: the whole reply
    assistant.usage           data.input_tokens, data.output_tokens, data.model, data.duration
    session.error             data.error_type, data.message, data.status_code
    assistant.turn_end        data.turn_id
    session.idle              once the queue is empty (data.aborted after an abort)

Notices use the SDK's own types: ``session.info`` (info_type "context_trimmed",
...), ``session.warning``. copilot-repl's extras live under
``copilot_repl.*`` names (``copilot_repl.status``: a passing status line such
as "starting local model…"; ``copilot_repl.queued``: waiting for a free slot
at the provider), which no SDK program subscribes to by accident.

Differences from the SDK, kept on purpose: ``SessionEventType`` is a
``StrEnum`` (so ``event.type == "session.idle"`` also holds), and every event
carries ``session_id`` (the client-wide ``CopilotClient.listen`` needs it).
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum, StrEnum
from typing import Any

__all__ = [
    "AbortData",
    "AssistantReasoningData",
    "AssistantReasoningDeltaData",
    "AssistantMessageData",
    "AssistantMessageDeltaData",
    "AssistantTurnEndData",
    "AssistantTurnStartData",
    "AssistantUsageData",
    "EventData",
    "PendingMessagesModifiedData",
    "SessionAutopilotStoppedData",
    "SessionErrorData",
    "SessionEvent",
    "SessionEventType",
    "SessionIdleData",
    "SessionInfoData",
    "SessionMode",
    "SessionModelChangeData",
    "SessionResumeData",
    "SessionStartData",
    "SessionWarningData",
    "StatusData",
    "UserMessageData",
]


class SessionEventType(StrEnum):
    SESSION_START = "session.start"
    SESSION_RESUME = "session.resume"
    SESSION_ERROR = "session.error"
    SESSION_IDLE = "session.idle"
    SESSION_AUTOPILOT_STOPPED = "session.autopilot_stopped"  # never emitted: no autopilot
    SESSION_INFO = "session.info"
    SESSION_WARNING = "session.warning"
    SESSION_MODEL_CHANGE = "session.model_change"
    USER_MESSAGE = "user.message"
    PENDING_MESSAGES_MODIFIED = "pending_messages.modified"
    ASSISTANT_TURN_START = "assistant.turn_start"
    ASSISTANT_MESSAGE = "assistant.message"
    ASSISTANT_MESSAGE_DELTA = "assistant.message_delta"
    ASSISTANT_REASONING = "assistant.reasoning"  # never emitted: chat replies only
    ASSISTANT_REASONING_DELTA = "assistant.reasoning_delta"  # never emitted
    ASSISTANT_TURN_END = "assistant.turn_end"
    ASSISTANT_USAGE = "assistant.usage"
    ABORT = "abort"
    # copilot-repl's own (not in the SDK)
    STATUS = "copilot_repl.status"
    QUEUED = "copilot_repl.queued"


@dataclass(slots=True)
class SessionStartData:
    session_id: str
    selected_model: str | None = None
    start_time: datetime | None = None


@dataclass(slots=True)
class SessionResumeData:
    event_count: int = 0
    selected_model: str | None = None
    resume_time: datetime | None = None


class SessionMode(Enum):
    """The SDK's agent modes; copilot-repl sessions are always interactive."""

    INTERACTIVE = "interactive"
    PLAN = "plan"
    AUTOPILOT = "autopilot"


@dataclass(slots=True)
class SessionIdleData:
    aborted: bool | None = None
    mode: SessionMode | None = None


@dataclass(slots=True)
class SessionAutopilotStoppedData:
    """In the SDK for README code that waits on it; copilot-repl never sends it."""

    reason: str
    request_id: str | None = None


@dataclass(slots=True)
class SessionErrorData:
    error_type: str
    message: str
    status_code: int | None = None
    originating_message_id: str | None = None


@dataclass(slots=True)
class SessionInfoData:
    info_type: str
    message: str


@dataclass(slots=True)
class SessionWarningData:
    message: str
    warning_type: str


@dataclass(slots=True)
class SessionModelChangeData:
    new_model: str
    previous_model: str | None = None


@dataclass(slots=True)
class UserMessageData:
    content: str
    message_id: str | None = None
    delivery: str | None = None  # "enqueue" or "immediate"


@dataclass(slots=True)
class PendingMessagesModifiedData:
    pass


@dataclass(slots=True)
class AssistantTurnStartData:
    turn_id: str
    model: str | None = None


@dataclass(slots=True)
class AssistantTurnEndData:
    turn_id: str
    model: str | None = None


@dataclass(slots=True)
class AssistantMessageData:
    content: str
    message_id: str
    model: str | None = None
    output_tokens: int | None = None
    turn_id: str | None = None
    originating_message_id: str | None = None  # the prompt's message id
    # copilot-repl: "done", "interrupted" or "error" (how the reply ended)
    status: str = "done"


@dataclass(slots=True)
class AssistantMessageDeltaData:
    delta_content: str
    message_id: str


@dataclass(slots=True)
class AssistantReasoningData:
    """In the SDK for README code that matches on it; copilot-repl never sends it."""

    content: str
    reasoning_id: str


@dataclass(slots=True)
class AssistantReasoningDeltaData:
    """In the SDK for README code that matches on it; copilot-repl never sends it."""

    delta_content: str
    reasoning_id: str


@dataclass(slots=True)
class AssistantUsageData:
    model: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    duration: timedelta | None = None
    finish_reason: str | None = None
    # copilot-repl: whether output_tokens was counted here, not by the provider
    estimated: bool = False


@dataclass(slots=True)
class AbortData:
    reason: str


@dataclass(slots=True)
class StatusData:
    """copilot-repl: a passing status line."""

    message: str


EventData = (
    SessionStartData
    | SessionResumeData
    | SessionIdleData
    | SessionErrorData
    | SessionInfoData
    | SessionWarningData
    | SessionModelChangeData
    | UserMessageData
    | PendingMessagesModifiedData
    | AssistantTurnStartData
    | AssistantTurnEndData
    | AssistantMessageData
    | AssistantMessageDeltaData
    | AssistantReasoningData
    | AssistantReasoningDeltaData
    | SessionAutopilotStoppedData
    | AssistantUsageData
    | AbortData
    | StatusData
)


@dataclass(slots=True)
class SessionEvent:
    type: SessionEventType
    data: Any
    session_id: str = ""
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    parent_id: uuid.UUID | None = None
    ephemeral: bool | None = None
    agent_id: str | None = None  # the SDK's sub-agent id: always None (no sub-agents)

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON-ready data, shaped like the SDK's wire format
        (``type``, ``id``, ``timestamp``, ``parentId``, ``ephemeral``, ``data``),
        with ``sessionId`` added and ``data`` keys in snake_case as in Python."""
        return {
            "type": self.type.value,
            "id": str(self.id),
            "timestamp": self.timestamp.isoformat(),
            "parentId": str(self.parent_id) if self.parent_id else None,
            "ephemeral": self.ephemeral,
            "sessionId": self.session_id,
            "data": {k: _jsonable(v) for k, v in asdict(self.data).items() if v is not None},
        }


def _jsonable(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, datetime):
        return value.isoformat()
    return value
