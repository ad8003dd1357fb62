"""copilot-repl: juggle several LLM chat sessions, from a shell or from Python.

The Python API has the shape of the Copilot SDK's sessions::

    from copilot_repl import CopilotClient
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from copilot_repl._version import __version__

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient, SessionInfo
    from copilot_repl.api.events import SessionEvent
    from copilot_repl.api.session import CopilotSession

__all__ = ["CopilotClient", "CopilotSession", "SessionEvent", "SessionInfo", "__version__"]

_LAZY = {
    "CopilotClient": "api.client",
    "SessionInfo": "api.client",
    "CopilotSession": "api.session",
    "SessionEvent": "api.events",
}


def __getattr__(name: str) -> Any:
    """Import the API on first use, so ``copilot-repl --version`` starts fast."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
