"""SDK import path ``copilot.generated.rpc``: the permission decisions a
handler returns, defined in ``copilot_repl.api.types``."""

from copilot_repl.api.types import (
    PermissionDecisionApproveOnce,
    PermissionDecisionDeniedInteractivelyByUser,
    PermissionDecisionReject,
)

__all__ = [
    "PermissionDecisionApproveOnce",
    "PermissionDecisionDeniedInteractivelyByUser",
    "PermissionDecisionReject",
]
