"""SDK import path ``copilot.client``: ``CopilotClient`` is defined in
``copilot_repl.api.client`` (the session manager), this module only re-exports."""

from copilot_repl.api.client import CopilotClient
from copilot_repl.api.metadata import (
    GetAuthStatusResponse,
    GetStatusResponse,
    ModelCapabilities,
    ModelInfo,
    ModelLimits,
    ModelSupports,
    ModelVisionLimits,
    PingResponse,
    RuntimeConnection,
    SessionContext,
    SessionLifecycleEvent,
    SessionListFilter,
    SessionMetadata,
    StopError,
)

__all__ = [
    "CopilotClient",
    "GetAuthStatusResponse",
    "GetStatusResponse",
    "ModelCapabilities",
    "ModelInfo",
    "ModelLimits",
    "ModelSupports",
    "ModelVisionLimits",
    "PingResponse",
    "RuntimeConnection",
    "SessionContext",
    "SessionLifecycleEvent",
    "SessionListFilter",
    "SessionMetadata",
    "StopError",
]
