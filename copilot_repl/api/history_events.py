"""A saved history replayed as SDK events (``get_events``/``get_messages``):
``session.start``, then ``user.message`` / ``assistant.message`` pairs."""

from __future__ import annotations

from datetime import UTC, datetime

from copilot_repl._version import __version__
from copilot_repl.api.events import (
    PRODUCER,
    AssistantMessageData,
    SessionEvent,
    SessionEventType,
    SessionStartData,
    UserMessageData,
)
from copilot_repl.history.messages import SessionData

T = SessionEventType


def history_events(data: SessionData, session_id: str) -> list[SessionEvent]:
    start = SessionStartData(
        copilot_version=__version__,
        producer=PRODUCER,
        session_id=session_id,
        start_time=_when(data.created),
        version=1,
        selected_model=data.model.partition(":")[2],
    )
    events = [SessionEvent(T.SESSION_START, start, session_id, timestamp=_when(data.created))]
    last_prompt: str | None = None
    for i, m in enumerate(data.messages):
        mid = m.id or f"{session_id}-{i}"
        if m.role == "user":
            last_prompt = mid
            ev = SessionEvent(
                T.USER_MESSAGE, UserMessageData(m.content, message_id=mid), session_id
            )
        else:
            body = AssistantMessageData(
                content=m.content,
                message_id=mid,
                model=m.model.partition(":")[2] or None,
                output_tokens=m.tokens or None,
                originating_message_id=last_prompt,
                status=str(m.status),
            )
            ev = SessionEvent(T.ASSISTANT_MESSAGE, body, session_id)
        if m.ts:
            ev.timestamp = _when(m.ts)
        events.append(ev)
    return events


def _when(ts: float) -> datetime:
    return datetime.fromtimestamp(ts or 0, UTC)
