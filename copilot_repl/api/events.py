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

A reply that calls tools (``tools=`` of ``create_session``) is one round: its
``assistant.message`` carries ``tool_requests`` (content often ""), then for
each call ``tool.execution_start``, ``permission.requested``/``completed``
(kind "custom-tool"; none for ``skip_permission`` tools), while the handler
runs ``external_tool.requested``/``completed``, and ``tool.execution_complete``
(``success``, ``result.content`` or ``error.message``); ``assistant.turn_end``
closes the round and a new ``assistant.turn_start`` opens the next model call
(api/toolrun.py).

Notices use the SDK's own types: ``session.info`` (info_type "context_trimmed",
...), ``session.warning``. copilot-repl's extras live under
``copilot_repl.*`` names (``copilot_repl.status``: a passing status line such
as "starting local model…"; ``copilot_repl.queued``: waiting for a free slot
at the provider), which no SDK program subscribes to by accident.

The types themselves (``SessionEventType`` and every data class, with the
SDK's fields) are generated from the installed SDK by
``tools/gen_session_events.py``: those copilot_repl emits into
``generated_events.py`` (imported here), the rest of the SDK's surface into
``generated_events_all.py`` (imported only by the SDK's module paths). Every
event but a session's first has a ``parent_id``: the newest non-ephemeral
event before it, as on the SDK (``CopilotSession._stamp``).

Differences from the SDK, kept on purpose: ``SessionEventType`` is a
``StrEnum`` (so ``event.type == "session.idle"`` also holds), and every event
carries ``session_id`` (the client-wide ``CopilotClient.listen`` needs it).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import MISSING, asdict, dataclass, field, fields, is_dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from copilot_repl.api.generated_events import *  # noqa: F403
from copilot_repl.api.generated_events import (
    AbortData,
    AssistantMessageData,
    AssistantMessageDeltaData,
    AssistantReasoningData,
    AssistantReasoningDeltaData,
    AssistantTurnEndData,
    AssistantTurnStartData,
    AssistantUsageData,
    PendingMessagesModifiedData,
    SessionAutopilotStoppedData,
    SessionErrorData,
    SessionEventType,
    SessionIdleData,
    SessionInfoData,
    SessionModelChangeData,
    SessionResumeData,
    SessionShutdownData,
    SessionStartData,
    SessionTitleChangedData,
    SessionWarningData,
    UserMessageData,
)
from copilot_repl.api.generated_events import __all__ as _generated
from copilot_repl.api.ids import new_id

__all__ = [
    *_generated,
    "EMITTED_TYPES",
    "Data",
    "EventData",
    "SessionEvent",
    "StatusData",
    "data_class",
    "data_from_dict",
    "session_event_from_dict",
    "session_event_to_dict",
]


# The SDK event types copilot_repl emits (the others exist, for programs that
# match on them, and never come).
EMITTED_TYPES = frozenset(
    {
        SessionEventType.SESSION_START,
        SessionEventType.SESSION_RESUME,
        SessionEventType.SESSION_ERROR,
        SessionEventType.SESSION_IDLE,
        SessionEventType.SESSION_INFO,
        SessionEventType.SESSION_WARNING,
        SessionEventType.SESSION_MODEL_CHANGE,
        SessionEventType.USER_MESSAGE,
        SessionEventType.PENDING_MESSAGES_MODIFIED,
        SessionEventType.ASSISTANT_TURN_START,
        SessionEventType.ASSISTANT_MESSAGE,
        SessionEventType.ASSISTANT_MESSAGE_DELTA,
        SessionEventType.ASSISTANT_TURN_END,
        SessionEventType.ASSISTANT_USAGE,
        SessionEventType.ABORT,
        SessionEventType.TOOL_EXECUTION_START,
        SessionEventType.TOOL_EXECUTION_COMPLETE,
        SessionEventType.PERMISSION_REQUESTED,
        SessionEventType.PERMISSION_COMPLETED,
        SessionEventType.EXTERNAL_TOOL_REQUESTED,
        SessionEventType.EXTERNAL_TOOL_COMPLETED,
    }
)
PRODUCER = "copilot-repl"  # session.start's producer (the CLI's: "copilot-agent")


@dataclass(slots=True)
class StatusData:
    """copilot-repl: a passing status line."""

    message: str


class Data:
    """As the SDK's ``Data``: an event payload built by hand, its keyword
    arguments become attributes."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def to_dict(self) -> dict[str, Any]:
        return dict(vars(self))


EventData = (
    SessionStartData
    | SessionResumeData
    | SessionIdleData
    | SessionErrorData
    | SessionInfoData
    | SessionWarningData
    | SessionModelChangeData
    | SessionTitleChangedData
    | SessionShutdownData
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
    id: uuid.UUID = field(default_factory=new_id)  # a uuid4, made cheaply (api/ids.py)
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    parent_id: uuid.UUID | None = None
    ephemeral: bool | None = None
    agent_id: str | None = None  # the SDK's sub-agent id: always None (no sub-agents)
    raw_type: str | None = None  # the SDK's: the wire type when it is not a known one

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
            "data": data_to_dict(self.data),
        }


def session_event_from_dict(obj: dict[str, Any]) -> SessionEvent:
    """An event from ``to_dict()``'s shape (or the SDK's camelCase wire shape).

    Values are converted by their declared type: enums, datetimes, UUIDs,
    durations (seconds, as ``to_dict()`` writes them); nested objects stay dicts.
    """
    raw_type = str(obj["type"])
    kind = SessionEventType(raw_type)
    body = obj.get("data") or {}
    cls = data_class(kind)
    data: Any = data_from_dict(cls, body) if cls is not None else Data(**body)
    parent = obj.get("parentId", obj.get("parent_id"))
    return SessionEvent(
        kind,
        data,
        str(obj.get("sessionId", obj.get("session_id")) or ""),
        uuid.UUID(str(obj["id"])),
        _datetime(obj["timestamp"]),
        uuid.UUID(str(parent)) if parent else None,
        obj.get("ephemeral"),
        obj.get("agentId", obj.get("agent_id")),
        raw_type if kind.value != raw_type else None,
    )


def data_class(kind: SessionEventType) -> type | None:
    """The data class of an event type (``session.start`` -> ``SessionStartData``)."""
    if kind in (SessionEventType.STATUS, SessionEventType.QUEUED):
        return StatusData
    name = "".join(w[:1].upper() + w[1:] for w in re.split(r"[._]", kind.value)) + "Data"
    found = globals().get(name)
    if found is None:
        # start-up: the SDK's whole event surface, only when asked
        from copilot_repl.api import generated_events_all

        found = vars(generated_events_all).get(name)
    return found if isinstance(found, type) else None


def _camel_to_snake(key: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def data_from_dict(cls: type, body: dict[str, Any]) -> Any:
    return cls(**data_kwargs(cls, body))


def data_kwargs(cls: type, body: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments of the data class ``cls`` that ``body`` (the
    wire's camelCase keys) gives, each converted to its field's type."""
    values = {_camel_to_snake(k): v for k, v in body.items()}
    kwargs = {}
    for f in fields(cls):
        if f.name in values:
            kwargs[f.name] = _value(str(f.type), values[f.name])
        elif f.default is MISSING and f.default_factory is MISSING:
            kwargs[f.name] = None  # required by the SDK but absent: kept visible as None
    return kwargs


def _value(annotation: str, value: Any) -> Any:
    if value is None:
        return None
    first = annotation.split("|")[0].strip()
    if first == "datetime":
        return _datetime(value)
    if first == "timedelta" and isinstance(value, int | float):
        return timedelta(seconds=value)
    if first == "UUID":
        return uuid.UUID(str(value))
    kind = globals().get(first)
    if isinstance(kind, type) and issubclass(kind, Enum):
        try:
            return kind(value)
        except ValueError:
            return value
    listed = re.fullmatch(r"list\[(\w+)\]", first)
    item = _data_class(listed.group(1)) if listed else None
    if item is not None and isinstance(value, list):  # e.g. tool_requests
        return [data_from_dict(item, v) if isinstance(v, dict) else v for v in value]
    nested = _data_class(first)
    if nested is not None and isinstance(value, dict):  # e.g. a tool call's result
        return data_from_dict(nested, value)
    return value


def _data_class(name: str) -> type | None:
    """The generated data class of that name (those copilot_repl emits, else
    the rest of the SDK's surface); None for anything else."""
    kind = globals().get(name)
    if kind is None and re.fullmatch(r"[A-Z]\w*", name):
        # start-up: the SDK's whole event surface, only when asked
        from copilot_repl.api import generated_events_all

        kind = getattr(generated_events_all, name, None)  # not our type: a generated one
    return kind if isinstance(kind, type) and is_dataclass(kind) else None


def _datetime(value: Any) -> datetime:
    text = str(value)
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def session_event_to_dict(event: SessionEvent) -> dict[str, Any]:
    """As the SDK's function of that name."""
    return event.to_dict()


def data_to_dict(data: Any) -> dict[str, Any]:
    """An event's data as JSON-ready snake_case keys (None values left out)."""
    if isinstance(data, Data):
        return {k: _jsonable(v) for k, v in data.to_dict().items() if v is not None}
    return {k: _jsonable(v) for k, v in asdict(data).items() if v is not None}


def _jsonable(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return data_to_dict(value)
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, datetime):
        return value.isoformat()
    return value
