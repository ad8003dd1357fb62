"""What every command group shares: the REPL it acts on, and session lookup."""

from __future__ import annotations

from typing import TYPE_CHECKING

from copilot_repl.errors import SessionNotFound
from copilot_repl.history.names import validate_name
from copilot_repl.repl.parsing import natural_sorted, nearest
from copilot_repl.repl.registry import BadArgs

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
        """The session called ``name``, or the only one whose name starts with it."""
        return await self.client.resume_session(self._resolve(name, prefix=True))

    def _resolve(self, name: str, *, prefix: bool = False) -> str:
        """A session's name as typed, checked: an unknown name says which one
        was probably meant. ``prefix``: the start of one name is enough."""
        validate_name(name)
        names = self.client.store.names()
        if name in names:
            return name
        starting = natural_sorted([n for n in names if n.startswith(name)]) if prefix else []
        if len(starting) == 1:
            return starting[0]
        if starting:
            raise SessionNotFound(f"{name!r} could be {', '.join(starting)}; type more of it")
        hint = nearest(name, names)
        extra = f"; did you mean {hint}?" if hint else "; :ls lists them, :new NAME creates one"
        raise SessionNotFound(f"no session named {name!r}{extra}")


def positive(text: str) -> int:
    """A count given by the user (raises with the command's usage if not one)."""
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise BadArgs(f"expected a positive number, got {text!r}")
    return n
