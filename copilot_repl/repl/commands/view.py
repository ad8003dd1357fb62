"""``:view``: the last ``:ask``/``:all`` side by side again, e.g. after
Ctrl-Z sent it to the background. Only a front end that shows replies side
by side (the shell: ``Frontend.terminal``) has it."""

from __future__ import annotations

from copilot_repl.errors import UsageError
from copilot_repl.repl.commands.base import CommandGroup
from copilot_repl.repl.parsing import Args
from copilot_repl.repl.registry import command


class ViewCommands(CommandGroup):
    @command("view", help="show the last :ask or :all side by side again (after Ctrl-Z)")
    async def view(self, a: Args) -> None:
        out = self.out.terminal
        if out is None:
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
