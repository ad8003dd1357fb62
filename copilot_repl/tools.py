"""SDK import path ``copilot.tools``: ``define_tool``, ``Tool``,
``ToolInvocation``, ``ToolResult``, defined in ``copilot_repl.api.tools``."""

from copilot_repl.api.tools import (
    Tool,
    ToolBinaryResult,
    ToolHandler,
    ToolInvocation,
    ToolResult,
    ToolResultType,
    ToolSet,
    define_tool,
)

__all__ = [
    "Tool",
    "ToolBinaryResult",
    "ToolHandler",
    "ToolInvocation",
    "ToolResult",
    "ToolResultType",
    "ToolSet",
    "define_tool",
]
