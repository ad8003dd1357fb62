"""SDK import path ``copilot.generated.session_events``: the whole event surface of the SDK
(generated into ``copilot_repl.api.generated_events*`` by
``tools/gen_session_events.py``), with ``SessionEvent`` from ``api.events``."""

from copilot_repl.api.events import (
    Data,
    EventData,
    SessionEvent,
    StatusData,
    session_event_from_dict,
    session_event_to_dict,
)
from copilot_repl.api.generated_events_all import *  # noqa: F403
from copilot_repl.api.generated_events_all import __all__ as _generated

__all__ = [
    *_generated,
    "Data",
    "EventData",
    "SessionEvent",
    "StatusData",
    "session_event_from_dict",
    "session_event_to_dict",
]
