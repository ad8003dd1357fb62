"""Session events, named as in the Copilot SDK where they fit.

session.queued            waiting for a free slot at the provider
session.status            a passing status line ("starting local model…", retries)
session.info              a notice for the user (history trimmed to fit, …)
assistant.turn_start      the request is on its way
assistant.message_delta   data.delta_content: the next piece of the reply
assistant.message         data.content: the whole reply (data.status says if cut short)
session.error             data.message: why the turn failed
session.idle              the turn is over, whatever happened
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class EventData:
    """The payload of an event; only the fields that fit the type are set."""

    delta_content: str = ""
    content: str = ""
    message: str = ""
    status: str = ""
    tokens: int = 0
    elapsed: float = 0.0
    model: str = ""


@dataclass(slots=True)
class SessionEvent:
    type: str
    session_id: str
    data: EventData
