"""copilot-repl: juggle several LLM chat sessions, from a shell or from Python.

The Python API has the shape of the GitHub Copilot SDK's sessions; code
written for the SDK runs with ``copilot`` replaced by ``copilot_repl`` in its
imports::

    from copilot_repl import CopilotClient, PermissionHandler

The same module paths exist as in the SDK (``copilot_repl.types``,
``copilot_repl.session``, ``copilot_repl.client``,
``copilot_repl.session_events``, ``copilot_repl.generated.session_events``);
the code itself lives in ``copilot_repl.api``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from copilot_repl._version import __version__

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.api.events import SessionEvent, SessionEventType
    from copilot_repl.api.metadata import (
        ModelInfo,
        PingResponse,
        RuntimeConnection,
        SessionContext,
        SessionInfo,
        SessionListFilter,
        SessionMetadata,
    )
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.tools import Tool, ToolInvocation, ToolResult, ToolSet, define_tool
    from copilot_repl.api.types import (
        MessageOptions,
        ModelCapabilitiesOverride,
        ModelLimitsOverride,
        ModelSupportsOverride,
        ModelVisionLimitsOverride,
        PermissionHandler,
        ProviderConfig,
        ResumeSessionConfig,
        SessionConfig,
        SystemMessageConfig,
    )
    from copilot_repl.copilot_request_handler import CopilotRequestContext, CopilotRequestHandler

__all__ = [
    "CopilotClient",
    "CopilotRequestContext",
    "CopilotRequestHandler",
    "CopilotSession",
    "MessageOptions",
    "ModelCapabilitiesOverride",
    "ModelInfo",
    "ModelLimitsOverride",
    "ModelSupportsOverride",
    "ModelVisionLimitsOverride",
    "PermissionHandler",
    "PingResponse",
    "ProviderConfig",
    "ResumeSessionConfig",
    "RuntimeConnection",
    "SessionConfig",
    "SessionContext",
    "SessionEvent",
    "SessionEventType",
    "SessionInfo",
    "SessionListFilter",
    "SessionMetadata",
    "SystemMessageConfig",
    "Tool",
    "ToolInvocation",
    "ToolResult",
    "ToolSet",
    "__version__",
    "define_tool",
]

_LAZY = {
    "CopilotClient": "api.client",
    "CopilotSession": "api.session",
    "SessionEvent": "api.events",
    "SessionEventType": "api.events",
    "SessionMetadata": "api.metadata",
    "SessionInfo": "api.metadata",
    "SessionListFilter": "api.metadata",
    "PingResponse": "api.metadata",
    "RuntimeConnection": "api.metadata",
    "SessionContext": "api.metadata",
    "ModelInfo": "api.metadata",
    "MessageOptions": "api.types",
    "ModelCapabilitiesOverride": "api.types",
    "ModelLimitsOverride": "api.types",
    "ModelSupportsOverride": "api.types",
    "ModelVisionLimitsOverride": "api.types",
    "CopilotRequestContext": "copilot_request_handler",
    "CopilotRequestHandler": "copilot_request_handler",
    "PermissionHandler": "api.types",
    "ProviderConfig": "api.types",
    "ResumeSessionConfig": "api.types",
    "SessionConfig": "api.types",
    "SystemMessageConfig": "api.types",
    "Tool": "api.tools",
    "ToolInvocation": "api.tools",
    "ToolResult": "api.tools",
    "ToolSet": "api.tools",
    "define_tool": "api.tools",
}


def __getattr__(name: str) -> Any:  # PEP 562: the module's lazy attributes
    """Import the API on first use, so ``copilot-repl --version`` starts fast."""
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)  # the name asked for
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
