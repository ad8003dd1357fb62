"""The interactive shell: a prompt_toolkit prompt in front of the Repl."""

from __future__ import annotations

import asyncio
import signal
import sys
from typing import IO, TYPE_CHECKING, Any, cast

from copilot_repl.api.client import CopilotClient
from copilot_repl.repl.completion import Sources, make_completer
from copilot_repl.repl.controller import Repl
from copilot_repl.shell.display import ShellOutput
from copilot_repl.shell.keys import build_key_bindings
from copilot_repl.shell.markdown_stream import make_console
from copilot_repl.shell.toolbar import toolbar_fragments
from copilot_repl.shell.tty import no_echo

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession

STYLE = {
    "toolbar.current": "reverse bold",
    "toolbar.streaming": "ansigreen",
    "toolbar.queued": "ansiyellow",
    "toolbar.unread": "ansicyan bold",
    "toolbar.failed": "ansired",
    "bottom-toolbar": "noreverse",
    "prompt.name": "bold ansicyan",
    "prompt.model": "ansibrightblack",
}


class Shell:
    """Owns the prompt and routes Ctrl-C / Ctrl-Z while replies stream."""

    def __init__(
        self,
        repl: Repl,
        out: ShellOutput,
        *,
        input: Any = None,
        output: Any = None,
    ) -> None:
        self.repl = repl
        self.out = out
        self.busy: asyncio.Task[None] | None = None
        # the terminal whose echo is turned off while a reply streams (not
        # when keys come from elsewhere, as in tests)
        self.tty: IO[Any] | None = sys.stdin if input is None else None
        self.session = self._prompt_session(input, output)
        out.prompt = self.session

    def _prompt_session(self, input: Any, output: Any) -> PromptSession[str]:
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory
        from prompt_toolkit.styles import Style

        history = FileHistory(str(self.repl.client.store.input_history_path()))
        return PromptSession(
            history=history,
            completer=make_completer(self._sources),  # type: ignore[arg-type]
            complete_while_typing=False,
            key_bindings=build_key_bindings(),
            bottom_toolbar=cast(Any, self._toolbar),
            style=Style.from_dict(STYLE),
            refresh_interval=0.5,
            input=input,
            output=output,
            enable_history_search=False,
        )

    # -- what the prompt shows ------------------------------------------
    def _message(self) -> list[tuple[str, str]]:
        s = self.repl.session
        if s is None:
            return [("", "> ")]
        return [
            ("class:prompt.name", s.session_id),
            ("class:prompt.model", f" {s.model}"),
            ("", " › "),
        ]

    def _toolbar(self) -> list[tuple[str, str]]:
        client = self.repl.client
        states = [(name, self.repl.display_state(name)) for name in client.store.names()]
        current = self.repl.current_name
        width = self.session.output.get_size().columns
        return toolbar_fragments(states, current, width)

    def _sources(self) -> Sources:
        cfg = self.repl.client.config
        models = sorted(
            {f"{p.name}:{p.default_model}" for p in cfg.providers.values()} | set(cfg.aliases)
        )
        return Sources(self.repl.registry.commands, self.repl.client.store.names(), models)

    # -- signals ----------------------------------------------------------
    def on_sigint(self) -> None:
        if self.out.interrupt():
            return
        if self.busy is not None and not self.busy.done():
            self.busy.cancel()

    def on_sigtstp(self) -> None:
        self.out.suspend()

    # -- the loop ---------------------------------------------------------
    async def run(self) -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGINT, self.on_sigint)
        loop.add_signal_handler(signal.SIGTSTP, self.on_sigtstp)
        try:
            while not self.repl.quitting:
                text = await self._read()
                if text is None:
                    self.repl.quitting = True
                else:
                    await self._run_line(text)
                if self.repl.quitting and not await self._confirm_quit():
                    self.repl.quitting = False
        finally:
            loop.remove_signal_handler(signal.SIGINT)
            loop.remove_signal_handler(signal.SIGTSTP)
        return 0

    async def _read(self) -> str | None:
        while True:
            try:
                message = cast(Any, self._message)
                return await self.session.prompt_async(message, handle_sigint=False)
            except KeyboardInterrupt:
                continue  # Ctrl-C at the prompt clears the line
            except EOFError:
                return None

    async def _run_line(self, text: str) -> None:
        self.busy = asyncio.ensure_future(self.repl.handle(text))
        try:
            with no_echo(self.tty):
                await self.busy
        except asyncio.CancelledError:
            me = asyncio.current_task()
            if me is not None and me.cancelling():
                raise  # the shell itself is being cancelled, not just this line
            self.out.status("cancelled")
        finally:
            self.busy = None

    async def _confirm_quit(self) -> bool:
        turns = self.repl.turns()
        if not turns:
            return True
        what = "1 reply is" if len(turns) == 1 else f"{len(turns)} replies are"
        return await self.out.confirm(f"{what} still streaming; quit and cancel? [y/N] ")


WARM_AFTER = 0.3  # seconds: after the first prompt is drawn


def warm_imports() -> None:
    """Import what streaming a reply needs (httpx, rich's Markdown)."""
    import httpx  # noqa: F401
    import httpx_sse  # noqa: F401
    import rich.live  # noqa: F401
    import rich.markdown  # noqa: F401


async def run_shell(
    client: CopilotClient,
    session_name: str | None,
    *,
    plain: bool,
    input: Any = None,
    output: Any = None,
    file: IO[str] | None = None,
) -> int:
    """Run the interactive shell until :quit or Ctrl-D; returns the exit status."""
    out = ShellOutput(lambda: make_console(file or sys.stdout, plain=plain), plain=plain)
    repl = Repl(client, out)
    try:
        await client.start()
        await repl.open_initial(session_name)
        shell = Shell(repl, out, input=input, output=output)
        # The prompt is drawn first; then the modules the first reply needs
        # load in a thread, so that reply does not wait for them.
        loop = asyncio.get_running_loop()
        loop.call_later(WARM_AFTER, lambda: loop.run_in_executor(None, warm_imports))
        return await shell.run()
    finally:
        await repl.close()
