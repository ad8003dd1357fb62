"""The vote queue on a terminal: one pair at a time, full screen, the prompt
above the two replies side by side (Markdown), scrolled with the arrows and
Page Up/Down when long; one key votes (``a`` / ``b`` / ``t`` tie / ``x``
both bad), ``s`` skips (the pair comes again later), ``q`` quits (the queue
resumes where it stopped: what is voted is on disk). The bottom line says
where you are: ``12 of 50``.

What the queue holds and what a key does is ``repl/blind.py``; this module
only draws it and reads keys.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from prompt_toolkit.application import Application
from prompt_toolkit.formatted_text import ANSI
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.layout import HSplit, Layout, Window
from prompt_toolkit.layout.controls import FormattedTextControl
from rich import box
from rich.console import Console, Group
from rich.markdown import Markdown
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from copilot_repl.sanitize import clean

if TYPE_CHECKING:
    from copilot_repl.repl.blind import Item, Queue

HELP_KEYS = "a: A better · b: B better · t: tie · x: both bad · s: skip · q: quit"


def render(item: Item, width: int, *, plain: bool = False) -> list[str]:
    """The pair as lines of text with ANSI styles, ``width`` columns wide."""
    buf = io.StringIO()
    console = Console(
        file=buf,
        width=max(width, 20),
        force_terminal=not plain,
        color_system=None if plain else "standard",
        legacy_windows=False,
    )
    p = item.pending
    where = f"{p.run} · " if p.run else ""
    tag = f" · tag: {p.tag}" if p.tag else ""
    console.print(Text(f"{where}{p.name}{tag}", style="dim"))
    console.print(Panel(Text(clean(p.prompt)), title="prompt", title_align="left"))
    table = Table(box=box.SQUARE, expand=True, show_lines=False)
    cells = []
    for reply in item.replies:
        table.add_column(f"{reply.label}", ratio=1, header_style="bold")
        body: Any = Text(clean(reply.text)) if plain else Markdown(clean(reply.text))
        if reply.status != "done":
            body = Group(body, Text(f"({reply.status})", style="yellow"))
        cells.append(body)
    table.add_row(*cells)
    console.print(table)
    return buf.getvalue().rstrip("\n").split("\n")


class _View:
    """The pair shown, its rendered lines and how far it is scrolled."""

    def __init__(self, queue: Queue, plain: bool) -> None:
        self.queue = queue
        self.plain = plain
        self.item: Item | None = queue.next()
        self.top = 0
        self.said = ""
        self._lines: list[str] = []
        self._key: tuple[str, int] | None = None

    def lines(self, width: int) -> list[str]:
        if self.item is None:
            return []
        key = (self.item.pending.name, width)
        if key != self._key:
            self._lines, self._key = render(self.item, width, plain=self.plain), key
        return self._lines

    def scroll(self, by: int, height: int, width: int) -> None:
        most = max(0, len(self.lines(width)) - height)
        self.top = min(most, max(0, self.top + by))

    def answer(self, key: str) -> None:
        assert self.item is not None
        vote = self.queue.answer(self.item, key)
        if vote is None:
            self.said = f"skipped {self.item.number}"
        else:
            what = {"tie": "a tie", "bad": "both bad"}.get(vote.verdict, vote.verdict)
            self.said = f"recorded {self.item.number}: {what}"
        self.item = self.queue.next()
        self.top = 0


async def walk(queue: Queue, *, input: Any = None, output: Any = None, plain: bool = False) -> None:
    """Vote through ``queue`` until it is empty or ``q`` is pressed."""
    view = _View(queue, plain)
    if view.item is None:
        return
    kb = KeyBindings()
    app: Application[None]

    def size() -> tuple[int, int]:
        s = app.output.get_size()
        return max(s.rows - 1, 1), s.columns

    def body() -> Any:
        height, width = size()
        lines = view.lines(width)
        return ANSI("\n".join(lines[view.top : view.top + height]))

    def bar() -> Any:
        item = view.item
        if item is None:
            return [("reverse", " done ")]
        height, width = size()
        total = len(view.lines(width))
        more = (
            f" · lines {view.top + 1}-{min(total, view.top + height)} of {total} ↑↓"
            if total > height
            else ""
        )
        said = f" · {view.said}" if view.said else ""
        return [("reverse", f" {item.number} of {item.total} · {HELP_KEYS}{more}{said} ")]

    def vote_key(key: str) -> None:
        @kb.add(key)
        def _(event: Any) -> None:
            view.answer(key)
            if view.item is None:
                event.app.exit()

    for key in ("a", "b", "t", "x", "s"):
        vote_key(key)

    @kb.add("q")
    @kb.add("c-c")
    @kb.add("c-d")
    def _quit(event: Any) -> None:
        event.app.exit()

    def scroller(keys: tuple[str, ...], step: int | None, page: int = 0) -> None:
        @kb.add(*keys)
        def _(event: Any) -> None:
            height, width = size()
            view.scroll(step if step is not None else page * height, height, width)

    scroller(("down",), 1)
    scroller(("j",), 1)
    scroller(("up",), -1)
    scroller(("k",), -1)
    scroller(("pagedown",), None, 1)
    scroller(("space",), None, 1)
    scroller(("pageup",), None, -1)
    scroller(("home",), -(10**9))
    scroller(("end",), 10**9)

    layout = Layout(
        HSplit(
            [
                Window(FormattedTextControl(body), wrap_lines=False),
                Window(FormattedTextControl(bar), height=1),
            ]
        )
    )
    app = Application(layout=layout, key_bindings=kb, full_screen=True, input=input, output=output)
    await app.run_async()
