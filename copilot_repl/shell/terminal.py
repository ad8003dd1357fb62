"""``TerminalOutput``: the shell's output plus what only a terminal can do
for a command: open ``$EDITOR`` (``:edit``) and set the clipboard (``:copy``).
It is its own ``Frontend.terminal`` (the ``Terminal`` protocol of
repl/frontend.py), with ``:view`` and the coloured ``:diff`` of ``ShellOutput``."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from copilot_repl.repl.frontend import Terminal
from copilot_repl.shell.clipboard import osc52, takes_osc52
from copilot_repl.shell.display import ShellOutput

if TYPE_CHECKING:
    from copilot_repl.repl.blind import Queue


class TerminalOutput(ShellOutput):
    def __init__(self, *args: Any, env: Mapping[str, str] | None = None, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.terminal: Terminal | None = self
        self.env: Mapping[str, str] = os.environ if env is None else env
        # set by the shell: gives the terminal to a child process (keys not
        # read ahead, echo on) for as long as it runs
        self.own_terminal: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext

    async def ask(self, question: str) -> str:
        with self.own_terminal():  # the answer is not a key typed ahead
            return await super().ask(question)

    async def edit(self, text: str) -> str:
        with self.own_terminal():
            from copilot_repl.shell.editor import edit_text  # start-up: only :edit

            return await edit_text(text, self.env)

    async def vote_queue(self, queue: Queue) -> None:
        """Walk the vote queue full screen (``shell/votequeue.py``)."""
        # start-up: the vote queue (rich, prompt_toolkit) only on a terminal
        from copilot_repl.shell.votequeue import walk

        prompt = self.prompt
        with self.own_terminal():
            await walk(
                queue,
                input=prompt.input if prompt is not None else None,
                output=prompt.output if prompt is not None else None,
                plain=self.plain,
            )

    def copy(self, text: str) -> bool:
        """Put ``text`` on the terminal's clipboard (OSC 52); False if this
        terminal cannot take it."""
        console = self.console
        sequence = osc52(text)
        if sequence is None or not takes_osc52(self.env, console.is_terminal):
            return False
        console.file.write(sequence)
        console.file.flush()
        return True
