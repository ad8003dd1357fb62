"""SDK import path ``copilot.generated.rpc``: the permission decisions a
handler returns, defined in ``copilot_repl.api.types``. The rest of the SDK's
``rpc`` module is the CLI runtime's own JSON-RPC surface, which copilot-repl
does not have: importing one of those names fails as any missing name does."""

from copilot_repl.api.types import (
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
