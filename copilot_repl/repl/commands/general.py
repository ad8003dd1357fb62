"""Help, quitting, and the commands that reach the terminal: $EDITOR and the
clipboard."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from copilot_repl.errors import UsageError
from copilot_repl.history.files import write_output
from copilot_repl.repl.commands.base import CommandGroup, positive
from copilot_repl.repl.parsing import Args
from copilot_repl.repl.registry import command
from copilot_repl.repl.wording import count

KEYS_HELP = [
    ("Tab / Shift-Tab", "on an empty line: next / previous session"),
    ("Ctrl-C", "cancel the reply that is streaming (the partial reply is kept)"),
    ("Ctrl-Z", "send the streaming reply to the background"),
    ("Esc Enter", "insert a newline (multi-line prompt)"),
    ("Ctrl-X Ctrl-E", "edit the line in $EDITOR, then send it"),
    ("PROMPT &", "send PROMPT in the background"),
    ("PROMPT \\&", "send a prompt that really ends in '&'"),
    ("::text", "send a prompt that starts with ':'"),
    ("typing while a reply streams", "Enter queues the prompt for this session"),
    ("Ctrl-D", "quit"),
]
CLIPBOARD_FILE = "clipboard.txt"  # in the data dir


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

    @command(
        "file",
        usage=":file PATH... [-- PROMPT]",
        help="attach files to the next prompt (text inline; PNG, JPEG, GIF, WebP as images); "
        "with -- PROMPT, send it now",
        complete="path",
        nargs=None,
    )
    async def file(self, args: str) -> None:
        from copilot_repl.api.options import load_attachment  # start-up: :file alone needs it

        head, dash, prompt = f" {args} ".partition(" -- ")
        try:
            names = shlex.split(head)
        except ValueError as exc:
            raise UsageError(f":file: {exc}") from None
        if not names:
            raise UsageError("usage: :file PATH... [-- PROMPT]")
        for name in names:
            path = Path(name).expanduser()
            self.repl.attached.append((path.name, load_attachment(path)))
        if dash and prompt.strip():
            await self.repl.prompt(self.repl.current, prompt.strip(), background=False)
            return
        shown = ", ".join(name for name, _ in self.repl.attached)
        self.out.note(f"attached to the next prompt: {shown}")

    @command("quit", help="leave (Ctrl-D too)", aliases=("q", "exit"), nargs=None)
    async def quit(self, args: str) -> None:
        self.repl.quitting = True

    @command(
        "edit",
        usage=":edit [TEXT]",
        help="write a prompt in $EDITOR (starting from TEXT); it is sent when you save and quit",
        nargs=None,
    )
    async def edit(self, args: str) -> None:
        terminal = self.out.terminal
        if terminal is None:
            raise UsageError(':edit needs the interactive shell; a script uses a """ block')
        session = self.repl.current
        text = (await terminal.edit(args.strip())).strip("\n")
        if not text.strip():
            self.out.note("nothing sent: the text was left empty")
            return
        self.out.message("user", text, f"{session.session_id} · your prompt")
        await self.repl.prompt(session, text, background=False)

    @command(
        "copy",
        usage=":copy [N] | :copy code [N]",
        help=(
            "copy the last reply (or the Nth last) to the clipboard and DATA_DIR/clipboard.txt; "
            "code: the last code block of the last reply (or its Nth)"
        ),
        nargs=(0, 2),
    )
    async def copy(self, a: Args) -> None:
        session = self.repl.current
        session.refresh()
        replies = [m for m in session.messages if m.role == "assistant"]
        words = list(a.positional)
        code = bool(words) and words[0] == "code"
        if code:
            words.pop(0)
        if len(words) > 1:
            raise UsageError("usage: :copy [N] | :copy code [N]")
        n = positive(words[0]) if words else 1
        if not replies or (not code and n > len(replies)):
            have = count(len(replies), "reply", "replies")
            raise UsageError(f"{session.session_id} has {have}; nothing to copy")
        if code:
            blocks = code_blocks(replies[-1].content)
            if not blocks or n > len(blocks):
                have = count(len(blocks), "code block")
                raise UsageError(f"the last reply of {session.session_id} has {have}")
            text = blocks[n - 1] if words else blocks[-1]
            which = f"code block {n}" if words else "the last code block"
            what = f"{which} of the last reply of {session.session_id}"
        else:
            text = replies[-n].content
            what = f"{'the last reply' if n == 1 else f'reply -{n}'} of {session.session_id}"
        path = self.client.store.root / CLIPBOARD_FILE
        write_output(path, text, overwrite=True)
        size = count(len(text), "character")
        terminal = self.out.terminal
        if terminal is not None and terminal.copy(text):
            self.out.note(
                f"copied {what} ({size}) to the clipboard; "
                f"if your terminal ignores OSC 52, it is in {path}"
            )
        else:
            self.out.note(f"copied {what} ({size}) to {path}")


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})[^\n]*\n(.*?)^ {0,3}\1[`~]*[ \t]*$", re.M | re.S)


def code_blocks(text: str) -> list[str]:
    """The fenced code blocks of a Markdown text, their contents as written
    (no fence, no language, no leading space added)."""
    return [m.group(2) for m in _FENCE.finditer(text)]
