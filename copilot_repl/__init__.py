"""copilot-repl: juggle several LLM chat sessions, from a shell or from Python.

The Python API has the shape of the Copilot SDK's sessions::

    from copilot_repl import CopilotClient
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from .chat import CopilotSession
    from .client import CopilotClient, SessionInfo
    from .events import SessionEvent

__all__ = ["CopilotClient", "CopilotSession", "SessionEvent", "SessionInfo", "__version__"]

_LAZY = {
    "CopilotClient": "client",
    "SessionInfo": "client",
    "CopilotSession": "chat",
    "SessionEvent": "events",
}


def __getattr__(name: str) -> Any:
    """Import the API on first use, so ``copilot-repl --version`` starts fast."""
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
