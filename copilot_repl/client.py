"""SDK import path ``copilot.client``: ``CopilotClient`` is defined in
``copilot_repl.api.client`` (the session manager), this module only re-exports."""

from copilot_repl.api.client import CopilotClient
from copilot_repl.api.metadata import (
    ModelInfo,
    PingResponse,
    RuntimeConnection,
    SessionContext,
    SessionLifecycleEvent,
    SessionListFilter,
    SessionMetadata,
)

__all__ = [
    "CopilotClient",
    "ModelInfo",
    "PingResponse",
    "RuntimeConnection",
    "SessionContext",
    "SessionLifecycleEvent",
    "SessionListFilter",
    "SessionMetadata",
]
