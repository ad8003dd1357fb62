"""What every command group shares: the REPL it acts on, and session lookup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from copilot_repl.history.names import validate_name

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.repl.controller import Repl
    from copilot_repl.repl.frontend import Frontend


class CommandGroup:
    def __init__(self, repl: Repl) -> None:
        self.repl = repl

    @property
    def out(self) -> Frontend:
        return self.repl.out

    @property
    def client(self) -> CopilotClient:
        return self.repl.client

    async def _session(self, name: str) -> CopilotSession:
        validate_name(name)
        self.repl.check_session_exists(name)
        return await self.client.resume_session(name)


def positive(text: str) -> int:
    """A count given by the user (raises with the command's usage if not one)."""
    from copilot_repl.repl.registry import BadArgs

    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise BadArgs(f"expected a positive number, got {text!r}")
    return n
