"""How the interactive shell shows things: rich on the terminal, above the
prompt when the prompt is up, live while replies stream.

While a reply streams in the foreground, the bottom of the terminal is a live
region (``LiveRegion``): the newest rows of the reply, then the toolbar (every
session's state), so other sessions can be watched during long waits. Lines
printed meanwhile go above it. ``:ask``/``:all`` show their replies side by
side, each column keeping its newest text in view, on the terminal's
alternate screen (``FullScreen``), then print them once in the scrollback."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, cast

from copilot_repl.repl.wording import count
from copilot_repl.sanitize import clean, one_line

if TYPE_CHECKING:
    from prompt_toolkit import PromptSession
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult

    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Turn
    from copilot_repl.render.live_region import FullScreen, LiveRegion
    from copilot_repl.render.markdown_stream import PlainStream
    from copilot_repl.repl.frontend import Terminal
    from copilot_repl.repl.worddiff import Piece

    Item = tuple[CopilotSession, Turn]

FANOUT_FPS = 8.0
MIN_COLUMN = 30  # narrower than this, replies are stacked, not side by side
SHORT_CELL = 24  # a table column whose values are all this short never wraps
# the toolbar's prompt_toolkit classes, as rich styles (for the live region)
TOOLBAR_STYLES = {
    "class:toolbar.current": "reverse bold",
    "class:toolbar.streaming": "green",
    "class:toolbar.queued": "yellow",
    "class:toolbar.unread": "bold cyan",
    "class:toolbar.failed": "red",
    "class:toolbar.permission": "bold yellow",
    "class:toolbar.more": "dim",
}


class ShellOutput:
    """The ``Output`` of the interactive shell."""

    interactive = True
    terminal: Terminal | None = None  # TerminalOutput offers itself

    def __init__(self, console: Console | Callable[[], Console], *, plain: bool) -> None:
        self._console = console
        self.plain = plain
        self._printing: set[asyncio.Future[None]] = set()
        self.prompt: PromptSession[str] | None = None
        self.following: list[Turn] = []
        self.last_fanout: list[Item] = []  # what :view shows again
        self._to_background: asyncio.Event | None = None
        self._plain_stream: PlainStream | None = None  # a plain reply being shown
        self._held: list[tuple[Any, ...]] | None = None  # lines said after the reply ended
        self.introduced: set[str] = set()  # turns whose prompt line was just printed
        self.typing: Callable[[], str] | None = None  # keys typed during a reply, no Enter yet
        self._live: FullScreen | LiveRegion | None = None  # the live columns of :ask, shown
        self._question: PromptSession[str] | None = None  # a question being asked
        from copilot_repl.repl.masks import Masks  # start-up: not on the path to the first prompt

        self.masks = Masks()  # the Repl's, given at start: blind sessions' models hidden

    # -- one-line things ------------------------------------------------

    @property
    def console(self) -> Console:
        """Made on first use: rich loads after the prompt is up, not before."""
        if callable(self._console):
            self._console = self._console()
        return self._console

    def _print(self, *items: Any, **kw: Any) -> None:
        """Print now, or above the prompt if the prompt is being shown; what
        is said once the reply being shown has ended (its error) waits until
        the reply has been printed whole."""
        if self._held is not None and self.following and not any(t.running for t in self.following):
            self._held.append((items, kw))
            return
        asking = self._question
        app = asking.app if asking is not None else self.prompt.app if self.prompt else None
        if app is not None and app.is_running:
            # start-up: prompt_toolkit loads after the first frame
            from prompt_toolkit.application import run_in_terminal

            task = asyncio.ensure_future(run_in_terminal(lambda: self.console.print(*items, **kw)))
            self._printing.add(task)  # kept until done: a task nobody holds may vanish
            task.add_done_callback(self._printing.discard)
        else:
            if self._plain_stream is not None:
                self._plain_stream.break_line()  # not in the middle of the reply's line
            self.console.print(*items, **kw)

    def _styled(self, text: str, style: str) -> RenderableType:
        from rich.text import Text  # start-up: rich loads with the first reply drawn

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
        from copilot_repl.render.markdown import markdown  # render/: after the first frame

        self._print(self._styled(f"── {label}", "bold blue" if role == "user" else "bold green"))
        self._print(self._styled(text, "") if self.plain or role == "user" else markdown(text))

    def word_diff(self, pieces: list[Piece], a_label: str, b_label: str) -> None:
        """``:diff``: removed words red and struck through, added ones green
        (``--plain``: the unified text of script mode)."""
        from rich.text import Text  # start-up: rich loads with the first reply drawn

        # start-up: not on the path to the first prompt
        from copilot_repl.repl.worddiff import spaced, unified

        if self.plain:
            self._print(self._styled("\n".join(unified(pieces, a_label, b_label)), ""))
            return
        styles = {"equal": "", "delete": "red strike", "insert": "green"}
        body = Text()
        for piece in spaced(pieces):
            body.append(clean(piece.text), style=styles[piece.tag])
        self._print(self._styled(f"--- {a_label}", "red"))
        self._print(self._styled(f"+++ {b_label}", "green"))
        self._print(body)

    def table(self, header: list[str], rows: list[list[str]]) -> None:
        # start-up: rich loads with the first reply drawn
        from rich import box
        from rich.table import Table

        table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False)
        for i, name in enumerate(header):
            # a short value stays on its row ("waits for permission" split
            # in two reads as two states); long text (help, prompts) wraps
            longest = max((len(row[i]) for row in rows if i < len(row)), default=0)
            table.add_column(name, no_wrap=max(longest, len(name)) <= SHORT_CELL)
        for row in rows:
            table.add_row(*(self._styled(c, "") for c in row))
        self._print(table)

    async def confirm(self, question: str) -> bool:
        return (await self.ask(question)).strip().lower() in ("y", "yes")

    async def ask(self, question: str) -> str:
        """Ask on the normal screen, the live columns of ``:ask`` set aside
        meanwhile (a tool's permission question, say): asked over them it
        was drawn over at their next frame."""
        if self.prompt is None:
            return ""
        # start-up: prompt_toolkit loads after the first frame
        from prompt_toolkit import PromptSession

        live = self._live if self._live is not None and self._live.active else None
        if live is not None:
            live.stop()
        ask: PromptSession[str] = PromptSession(input=self.prompt.input, output=self.prompt.output)
        self._question = ask  # what is said meanwhile goes above it
        try:
            return await ask.prompt_async(question, handle_sigint=False)
        except (KeyboardInterrupt, EOFError):
            return ""
        finally:
            self._question = None
            if live is not None and self._live is live:
                live.start()

    # -- the toolbar, while the prompt is not up --------------------------
    def toolbar_line(self) -> RenderableType | None:
        """The prompt's bottom toolbar as one rich line (None: no prompt);
        while keys are typed during a reply, what they make so far."""
        bar = self.prompt.bottom_toolbar if self.prompt is not None else None
        if not callable(bar):
            return None
        from rich.text import Text  # start-up: rich loads with the first reply drawn

        typed = self.typing() if self.typing is not None else ""
        if typed:  # the line typed ahead, shown as it is typed (Enter queues it)
            shown = clean(typed.replace("\n", " ⏎ "))[-max(self.console.width - 10, 10) :]
            label, cursor = ("next › ", "▏") if not self.plain else ("next > ", "")
            return Text.assemble((label, "dim"), shown, (cursor, "dim"), no_wrap=True, end="")

        try:
            fragments: list[Any] = list(cast(Any, bar)())
        except Exception:  # a bug in the toolbar must not stop a reply being shown
            return None
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        for fragment in fragments:
            style, text = fragment[0], fragment[1]
            if self.plain:
                line.append(text, "reverse" if style == "class:toolbar.current" else "")
            else:
                line.append(text, TOOLBAR_STYLES.get(style, ""))
        return line

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
        if turn.rid in self.introduced:
            self.introduced.discard(turn.rid)  # its prompt line says whose text this is
        elif turn.state == "streaming":  # joined midway (a switch): say whose text this is
            self._print(self._styled(f"── {self._who(session, turn)} · streaming", "bold"))
        from copilot_repl.render.markdown_stream import MarkdownStream, stream_for  # after frame

        # a dumb terminal (TERM=dumb) shows cursor moves as text: the reply as it arrives
        if self.plain or self.console.is_dumb_terminal:
            stream: Any = stream_for(self.console, plain=True)
            self._plain_stream = stream
        else:
            stream = MarkdownStream(self.console, footer=self.toolbar_line)
            stream.start()
        if turn.text:
            stream.feed(turn.text)
        unwatch = turn.watch(stream.feed)
        self._held = []
        try:
            tick = stream.tick if isinstance(stream, MarkdownStream) else None
            outcome = await self._watch([turn], tick)
        finally:
            unwatch()
            self._plain_stream = None
            stream.finish()
            held, self._held = self._held, None
            for items, kw in held:
                self._print(*items, **kw)
        if outcome == "done":
            hidden = self.masks.hidden(turn.session_id)
            self.status(_blind_figures(turn) if hidden else _stats(turn))
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

    # -- several replies side by side ---------------------------------------
    async def fanout(self, items: list[Item]) -> str:
        """Live columns (or stacked panels when columns would be narrower than
        MIN_COLUMN), each keeping its newest rows in view and its figures
        shown as soon as it ends, on the terminal's alternate screen when it
        has one (else at the bottom of the terminal); then one final table
        in the scrollback."""
        # start-up: render/ loads after the first frame
        from copilot_repl.render.live_region import FullScreen, LiveRegion, has_alternate_screen

        self.last_fanout = list(items)
        if self.console.is_dumb_terminal:
            # cursor moves would show as text there (TERM=dumb): the table alone
            outcome = await self._watch([t for _, t in items])
            self.console.print(self._final_fanout(items))
            if outcome == "background":
                self.notice("replies continue in the background; :view shows them side by side")
            return outcome
        region: FullScreen | LiveRegion
        # (replies all ended, as at a late :view: no full screen flashed)
        running = any(turn.running for _, turn in items)
        if running and has_alternate_screen(self.console, os.environ):
            # nothing of the live view reaches the scrollback, whatever a
            # resize does to it (re-wrapped taller than the screen, say)
            region = FullScreen(self.console)
        else:
            region = LiveRegion(self.console, whole=True)  # the height the pane has
        region.start()
        self._live = region

        def tick() -> None:
            if region.active:
                region.show(self._live_fanout(items, region.room))

        tick()
        try:
            outcome = await self._watch([t for _, t in items], tick=tick)
        finally:
            self._live = None
            region.stop()
        self.console.print(self._final_fanout(items))
        if outcome == "background":
            self.notice("replies continue in the background; :view shows them side by side")
        return outcome

    async def view(self) -> str:
        """``:view``: the last :ask/:all side by side again."""
        return await self.fanout(self.last_fanout)

    def _side_by_side(self, n: int) -> bool:
        return n > 0 and self.console.width // n >= MIN_COLUMN

    def _live_fanout(self, items: list[Item], room: int) -> list[Any]:
        from rich.console import Group  # start-up: rich loads with the first reply drawn

        from copilot_repl.render.live_region import render_rows  # start-up: after the frame

        console = self.console
        footer = self.toolbar_line()
        room = max(room - (footer is not None), 2)
        if self._side_by_side(len(items)):
            view: RenderableType = self._columns(items, body=max(room - 4, 1), final=False)
        else:
            view = Group(*self._stacked_live(items, room))
        rows = render_rows(console, view)[:room]
        if footer is not None:
            rows += render_rows(console, footer)[:1]
        return rows

    def _columns(self, items: list[Item], *, body: int, final: bool) -> RenderableType:
        """One row of columns; ``body``: rows of text shown per column (the
        newest), unless ``final`` (all of it)."""
        # start-up: rich loads with the first reply drawn
        from rich import box
        from rich.table import Table

        # live: a light frame (header, rule, the rows, rule, footer: 4 rows
        # besides the text); the final table, framed whole
        frame: dict[str, Any] = {} if final else {"box": box.MINIMAL_HEAVY_HEAD, "show_edge": False}
        table = Table(expand=True, show_lines=False, padding=(0, 1), show_footer=True, **frame)
        for session, turn in items:
            table.add_column(
                self._line(f"{self._who(session, turn)}", "bold"),
                footer=self._line(self._figures(turn), "dim", wrap=final),
                ratio=1,
            )
        if final:
            table.add_row(*(self._cell(turn) for _, turn in items))
        else:
            table.add_row(*(_NewestRows(turn, body, self.plain) for _, turn in items))
        return table

    def _stacked_live(self, items: list[Item], room: int) -> list[Any]:
        """Each reply under a header line, with as many of its newest rows
        as fit; with more replies than rows, their header lines only."""
        n = len(items)
        shown = items if n <= room else items[: room - 1]
        each = max((room - len(shown)) // max(len(shown), 1), 0)
        out: list[Any] = []
        for session, turn in shown:
            out.append(self._header(session, turn))
            if each:  # ending with a newline: the next header starts a row
                out.append(_NewestRows(turn, each, self.plain, end=True))
        if len(shown) < n:
            out.append(self._line(f"… and {n - len(shown)} more", "dim"))
        return out

    def _final_fanout(self, items: list[Item]) -> RenderableType:
        # start-up: rich loads with the first reply drawn
        from rich.console import Group
        from rich.text import Text

        if self._side_by_side(len(items)):
            return self._columns(items, body=0, final=True)
        out: list[Any] = []
        for session, turn in items:
            out += [self._header(session, turn, final=True), self._cell(turn), Text()]
        return Group(*out)

    def _who(self, session: CopilotSession, turn: Turn) -> str:
        """``NAME (MODEL)``; a blind session's model is not shown (repl/masks.py)."""
        return f"{session.session_id} ({self.masks.model(session.session_id, turn.model)})"

    def _header(
        self, session: CopilotSession, turn: Turn, *, final: bool = False
    ) -> RenderableType:
        """A stacked reply's header line: live, cut at the width; ``final``
        (the copy kept in the scrollback), wrapped: its figures kept whole."""
        text = f"── {self._who(session, turn)} · {self._figures(turn)}"
        return self._line(text, "bold", wrap=final)

    def _figures(self, turn: Turn) -> str:
        """A blind reply's figures wait for the vote."""
        return _blind_figures(turn) if self.masks.hidden(turn.session_id) else _figures(turn)

    def _line(self, text: str, style: str, *, wrap: bool = False) -> RenderableType:
        """One line of text, cut with … if too long (unless ``wrap``)."""
        from rich.text import Text  # start-up: rich loads with the first reply drawn

        style = "" if self.plain else style
        overflow: Literal["fold", "ellipsis"] = "fold" if wrap else "ellipsis"
        return Text(clean(text), style=style, no_wrap=not wrap, overflow=overflow)

    def _cell(self, turn: Turn) -> RenderableType:
        from copilot_repl.render.markdown import markdown  # start-up: after the frame

        text = turn.text
        if turn.state == "queued":
            return self._styled("queued…", "dim")
        body = markdown(text) if text and not self.plain else self._styled(text, "")
        if turn.error:
            from rich.console import Group  # start-up: rich loads with the first reply drawn

            error = self._styled(f"error: {one_line(turn.error)}", "red")
            return Group(body, error) if text else error
        return body


class _NewestRows:
    """The newest ``rows`` rows of a reply, rendered (Markdown) at the width
    it is given; only the end of the text is rendered, so the cost of a frame
    does not grow with the reply."""

    def __init__(self, turn: Turn, rows: int, plain: bool, *, end: bool = False) -> None:
        self.turn = turn
        self.rows = rows
        self.plain = plain
        self.end = end  # a newline after the last row (stacked under a header)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text  # start-up: rich loads with the first reply drawn

        # start-up: render/ loads after the first frame
        from copilot_repl.render.blocks import recent
        from copilot_repl.render.live_region import Rows, render_rows
        from copilot_repl.render.markdown import markdown

        turn, width = self.turn, options.max_width
        if turn.state == "queued":
            yield Text("queued…", style="dim")
            return
        text = recent(turn.text, max(self.rows * width * 2, 512))
        view = Text(clean(text)) if self.plain else markdown(text)
        rows = render_rows(console, view, width)
        if turn.error:
            rows += render_rows(console, Text(f"error: {one_line(turn.error)}", "red"), width)
        yield Rows(rows[-self.rows :], end=self.end)


async def _all_ended(turns: list[Turn]) -> None:
    for turn in turns:
        await turn.wait()


def _tokens(turn: Turn) -> str:
    """``12 tokens``, ``~12 tokens`` when counted here (no usage from the server)."""
    return ("~" if turn.tokens_counted else "") + count(turn.tokens, "token")


def _stats(turn: Turn) -> str:
    """The line under a reply: ``200 tokens · 3.1 s · 64 tok/s``."""
    figures = turn.figures()
    parts = [] if turn.state == "done" else [str(turn.state)]
    if turn.tokens or turn.state == "done":
        parts.append(_tokens(turn))
    parts.append(f"{turn.elapsed:.1f} s")
    rate = figures.get("tok_s")  # only when meaningful (Turn.decode_rate)
    if rate is not None:
        parts.append(f"{rate:.0f} tok/s")
    return " · ".join(parts)


def _figures(turn: Turn) -> str:
    """A column's footer: its state while it runs, then its figures
    (tokens, time to first token, decode rate) as soon as it ends."""
    if turn.state == "queued":
        return "queued"
    if turn.running:
        tokens = f"~{turn.chars // 4} tokens · " if turn.chars else ""
        return f"streaming · {tokens}{turn.elapsed:.1f} s"
    figures = turn.figures()
    parts = [] if turn.state == "done" else [str(turn.state)]
    if turn.tokens or turn.state == "done":
        parts.append(_tokens(turn))
    if "ttft_s" in figures:
        parts.append(f"TTFT {figures['ttft_s']:.2f} s")
    rate = figures.get("tok_s")  # only when meaningful (Turn.decode_rate)
    if rate is not None:
        parts.append(f"{rate:.0f} tok/s")
    parts.append(f"{turn.elapsed:.1f} s")
    return " · ".join(parts)


def _blind_figures(turn: Turn) -> str:
    """A blind reply's line before the vote: its state and tokens only (time
    to first token and speed would tell the models apart)."""
    if turn.state == "queued":
        return "queued"
    if turn.running:
        return "streaming" + (f" · ~{turn.chars // 4} tokens" if turn.chars else "")
    parts = [] if turn.state == "done" else [str(turn.state)]
    return " · ".join([*parts, _tokens(turn)])
