"""``:view``: the last ``:ask``/``:all`` side by side again, e.g. after
Ctrl-Z sent it to the background. Only a front end that shows replies side
by side (the shell) has it: the ``Viewer`` protocol."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from copilot_repl.errors import UsageError
from copilot_repl.repl.commands.base import CommandGroup
from copilot_repl.repl.parsing import Args
from copilot_repl.repl.registry import command

if TYPE_CHECKING:
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Turn


@runtime_checkable
class Viewer(Protocol):
    """A front end that keeps the last :ask/:all and can show it again."""

    last_fanout: list[tuple[CopilotSession, Turn]]

    async def view(self) -> str: ...


class ViewCommands(CommandGroup):
    @command("view", help="show the last :ask or :all side by side again (after Ctrl-Z)")
    async def view(self, a: Args) -> None:
        out = self.out
        if not isinstance(out, Viewer):
            raise UsageError(":view shows replies side by side in the interactive shell only")
        items = out.last_fanout
        if not items:
            raise UsageError("nothing to show yet: :ask A,B PROMPT or :all PROMPT first")
        rids = {turn.rid for _, turn in items}
        self.repl.followed.update(rids)  # watched: no "reply done" notices
        try:
            outcome = await out.view()
        finally:
            self.repl.followed.difference_update(rids)
        if outcome != "background":
            for session, _ in items:
                self.repl.unseen.pop(session.session_id, None)
