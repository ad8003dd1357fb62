"""SDK import path ``copilot.session``: ``CopilotSession`` is defined in
``copilot_repl.api.session`` (the session), this module only re-exports."""

from copilot_repl.api.session import CopilotSession
from copilot_repl.api.types import (
    ModelCapabilitiesOverride,
    ModelLimitsOverride,
    ModelSupportsOverride,
    ModelVisionLimitsOverride,
    PermissionHandler,
    PermissionNoResult,
    PermissionRequestResult,
    SystemMessageConfig,
)

__all__ = [
    "CopilotSession",
    "ModelCapabilitiesOverride",
    "ModelLimitsOverride",
    "ModelSupportsOverride",
    "ModelVisionLimitsOverride",
    "PermissionHandler",
    "PermissionNoResult",
    "PermissionRequestResult",
    "SystemMessageConfig",
]
