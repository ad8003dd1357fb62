"""Help and quitting."""

from __future__ import annotations

from copilot_repl.repl.commands.base import CommandGroup
from copilot_repl.repl.parsing import Args
from copilot_repl.repl.registry import command

KEYS_HELP = [
    ("Tab / Shift-Tab", "on an empty line: next / previous session"),
    ("Ctrl-C", "cancel the reply that is streaming (the partial reply is kept)"),
    ("Ctrl-Z", "send the streaming reply to the background"),
    ("Esc Enter", "insert a newline (multi-line prompt)"),
    ("PROMPT &", "send PROMPT in the background"),
    ("::text", "send a prompt that starts with ':'"),
    ("Ctrl-D", "quit"),
]


class GeneralCommands(CommandGroup):
    @command(
        "help",
        usage=":help [COMMAND]",
        help="show commands, or one command's help",
        aliases=("h", "?"),
        complete="command",
        nargs=(0, 1),
    )
    async def help(self, a: Args) -> None:
        if a.positional:
            cmd = self.repl.registry.lookup(a.positional[0].lstrip(":"))
            self.out.info(f"{cmd.usage}\n  {cmd.help}")
            return
        rows = [[u, h] for u, h in self.repl.registry.help_lines()]
        if self.out.interactive:
            rows += [[k, h] for k, h in KEYS_HELP]
        self.out.table(["command", "what it does"], rows)

    @command("quit", help="leave (Ctrl-D too)", aliases=("q", "exit"), nargs=None)
    async def quit(self, args: str) -> None:
        self.repl.quitting = True
