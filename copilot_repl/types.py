"""SDK import path ``copilot.types`` (SDK 0.1): configuration types, defined
in ``copilot_repl.api.types``, ``api.events`` and ``api.metadata``."""

from copilot_repl.api.events import SessionEvent, SessionEventType
from copilot_repl.api.metadata import ModelInfo, PingResponse, SessionListFilter, SessionMetadata
from copilot_repl.api.types import (
    MessageOptions,
    PermissionHandler,
    ProviderConfig,
    ResumeSessionConfig,
    SessionConfig,
    SessionEventHandler,
    SystemMessageConfig,
)

__all__ = [
    "MessageOptions",
    "ModelInfo",
    "PermissionHandler",
    "PingResponse",
    "ProviderConfig",
    "ResumeSessionConfig",
    "SessionConfig",
    "SessionEvent",
    "SessionEventHandler",
    "SessionEventType",
    "SessionListFilter",
    "SessionMetadata",
    "SystemMessageConfig",
]
