"""How the interactive shell shows things: rich on the terminal, above the
prompt when the prompt is up, live while replies stream."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from copilot_repl.sanitize import clean, one_line
from copilot_repl.shell.markdown_stream import PlainStream, markdown, stream_for

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from rich.console import Console, RenderableType

    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Turn

FANOUT_FPS = 8.0
MIN_COLUMN = 36


class ShellOutput:
    """The ``Output`` of the interactive shell."""

    interactive = True

    def __init__(self, console: Console | Callable[[], Console], *, plain: bool) -> None:
        self._console = console
        self.plain = plain
        self.prompt: PromptSession[str] | None = None
        self.following: list[Turn] = []
        self._to_background: asyncio.Event | None = None
        self._plain_stream: PlainStream | None = None  # a plain reply being shown

    # -- one-line things ------------------------------------------------

    @property
    def console(self) -> Console:
        """Made on first use: rich loads after the prompt is up, not before."""
        if callable(self._console):
            self._console = self._console()
        return self._console

    def _print(self, *items: Any, **kw: Any) -> None:
        """Print now, or above the prompt if the prompt is being shown."""
        app = self.prompt.app if self.prompt is not None else None
        if app is not None and app.is_running:
            from prompt_toolkit.application import run_in_terminal

            asyncio.ensure_future(run_in_terminal(lambda: self.console.print(*items, **kw)))
        else:
            if self._plain_stream is not None:
                self._plain_stream.break_line()  # not in the middle of the reply's line
            self.console.print(*items, **kw)

    def _styled(self, text: str, style: str) -> RenderableType:
        from rich.text import Text

        return Text(clean(text), style="" if self.plain else style)

    def info(self, text: str) -> None:
        self._print(self._styled(text, ""))

    note = info

    def error(self, text: str) -> None:
        self._print(self._styled(f"error: {one_line(text)}", "bold red"))

    def warn(self, text: str) -> None:
        self._print(self._styled(f"warning: {one_line(text)}", "yellow"))

    def status(self, text: str) -> None:
        self._print(self._styled(one_line(text), "dim"))

    def notice(self, text: str) -> None:
        self._print(self._styled(one_line(text), "cyan"))

    def message(self, role: str, text: str, label: str) -> None:
        self._print(self._styled(f"── {label}", "bold blue" if role == "user" else "bold green"))
        self._print(self._styled(text, "") if self.plain or role == "user" else markdown(text))

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        from rich import box
        from rich.table import Table

        table = Table(*header, box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for row in rows:
            table.add_row(*(self._styled(c, "") for c in row))
        self._print(table)

    async def confirm(self, question: str) -> bool:
        if self.prompt is None:
            return False
        from prompt_toolkit import PromptSession

        ask: PromptSession[str] = PromptSession(input=self.prompt.input, output=self.prompt.output)
        try:
            answer = await ask.prompt_async(question, handle_sigint=False)
        except (KeyboardInterrupt, EOFError):
            return False
        return answer.strip().lower() in ("y", "yes")

    # -- streaming --------------------------------------------------------
    def interrupt(self) -> bool:
        """Ctrl-C: cancel what is being followed. False if nothing is."""
        running = [t for t in self.following if t.running]
        for turn in running:
            turn.cancel()
        return bool(running)

    def suspend(self) -> bool:
        """Ctrl-Z: stop following; the replies go on in the background."""
        if self._to_background is None or not self.following:
            return False
        self._to_background.set()
        return True

    async def follow(self, session: CopilotSession, turn: Turn) -> str:
        stream = stream_for(self.console, plain=self.plain)
        if isinstance(stream, PlainStream):
            self._plain_stream = stream
        if turn.text:
            stream.feed(turn.text)

        unwatch = turn.watch(stream.feed)
        try:
            outcome = await self._watch([turn])
        finally:
            unwatch()
            self._plain_stream = None
            stream.finish()
        if outcome == "done":
            self.status(_stats(turn))
        return outcome

    async def _watch(self, turns: list[Turn], tick: Callable[[], None] | None = None) -> str:
        """Wait for ``turns`` to end, or for Ctrl-Z."""
        self.following = turns
        self._to_background = asyncio.Event()
        bg: asyncio.Future[Any] = asyncio.ensure_future(self._to_background.wait())
        everything: asyncio.Future[Any] = asyncio.ensure_future(_all_ended(turns))
        try:
            while True:
                done, _ = await asyncio.wait(
                    {bg, everything}, timeout=1 / FANOUT_FPS, return_when=asyncio.FIRST_COMPLETED
                )
                if tick is not None:
                    tick()
                if everything in done:
                    return "done"
                if bg in done:
                    return "background"
        finally:
            bg.cancel()
            everything.cancel()
            self.following = []
            self._to_background = None

    async def fanout(self, items: list[tuple[CopilotSession, Turn]]) -> str:
        from rich.live import Live

        with Live(
            self._columns(items, live=True),
            console=self.console,
            auto_refresh=False,
            transient=True,
            vertical_overflow="crop",
        ) as live:
            outcome = await self._watch(
                [j for _, j in items],
                tick=lambda: live.update(self._columns(items, live=True), refresh=True),
            )
        self.console.print(self._columns(items, live=False))
        if outcome == "background":
            self.notice("replies continue in the background; :jobs shows them")
        return outcome

    def _columns(self, items: list[tuple[CopilotSession, Turn]], *, live: bool) -> RenderableType:
        from rich.console import Group
        from rich.table import Table

        width = self.console.width
        per_row = max(1, min(len(items), width // MIN_COLUMN))
        room = max(self.console.height // max(1, -(-len(items) // per_row)) - 4, 3)
        tables = []
        for start in range(0, len(items), per_row):
            row = items[start : start + per_row]
            table = Table(expand=True, show_lines=False, padding=(0, 1))
            for session, turn in row:
                table.add_column(
                    self._styled(f"{session.session_id} ({turn.model})", "bold"),
                    footer=self._styled(_stats(turn), "dim") if not turn.running else "",
                    ratio=1,
                )
            table.show_footer = not live
            table.add_row(*(self._cell(turn, live, room) for _, turn in row))
            tables.append(table)
        return Group(*tables)

    def _cell(self, turn: Turn, live: bool, room: int) -> RenderableType:
        text = turn.text
        if turn.state == "queued":
            return self._styled("queued…", "dim")
        if live:
            lines = text.split("\n")[-room:]
            return self._styled("\n".join(lines), "")
        body = markdown(text) if text and not self.plain else self._styled(text, "")
        if turn.error:
            from rich.console import Group

            error = self._styled(f"error: {one_line(turn.error)}", "red")
            return Group(body, error) if text else error
        return body


async def _all_ended(turns: list[Turn]) -> None:
    for turn in turns:
        await turn.wait()


def _stats(turn: Turn) -> str:
    rate = turn.tokens / turn.elapsed if turn.elapsed > 0 else 0.0
    base = f"{turn.tokens} tokens · {turn.elapsed:.1f} s · {rate:.0f} tok/s"
    return base if turn.state == "done" else f"{turn.state} · {base}"
