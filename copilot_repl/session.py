"""SDK import path ``copilot.session``: ``CopilotSession`` is defined in
``copilot_repl.api.session`` (the session), this module only re-exports."""

from copilot_repl.api.session import CopilotSession
from copilot_repl.api.types import PermissionHandler, SystemMessageConfig

__all__ = ["CopilotSession", "PermissionHandler", "SystemMessageConfig"]
