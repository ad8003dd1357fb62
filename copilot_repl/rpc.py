"""SDK import path ``copilot.rpc`` (the SDK's public re-export of
``copilot.generated.rpc``): the permission decisions a handler returns."""

from copilot_repl.generated.rpc import (
    PermissionDecisionApproveOnce,
    PermissionDecisionDeniedInteractivelyByUser,
    PermissionDecisionReject,
    PermissionDecisionUserNotAvailable,
)

__all__ = [
    "PermissionDecisionApproveOnce",
    "PermissionDecisionDeniedInteractivelyByUser",
    "PermissionDecisionReject",
    "PermissionDecisionUserNotAvailable",
]
