"""A reply shown as it streams, fast for long replies.

A streaming reply is split into finished Markdown blocks (``blocks.py``;
printed once, into the scrollback) and an unfinished tail, shown in a
``LiveRegion`` (``live_region.py``) at the bottom of the terminal: the last
rows of the tail, however tall the block (the newest text stays in view),
and the toolbar under them. The work per delta does not grow with the
length of the reply. ``PlainStream`` (``--plain``): the text as it arrives.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from copilot_repl.render.blocks import BlockSplitter, recent
from copilot_repl.render.live_region import LiveRegion, Rows, render_rows
from copilot_repl.render.markdown import markdown
from copilot_repl.sanitize import clean

if TYPE_CHECKING:
    from rich.console import Console, RenderableType
    from rich.segment import Segment

    Row = list[Segment]

# rich starts these with a blank line of their own
_OPENS_WITH_BLANK = frozenset(
    {"bullet_list_open", "ordered_list_open", "blockquote_open", "table_open"}
)


class MarkdownStream:
    """Prints finished blocks once, keeps the tail in a ``LiveRegion``.

    Work is done per frame (at most ``fps`` a second), not per delta: the
    blocks finished since the last frame are rendered together, once, and
    the tail is repainted in the same write. The region shows the last rows
    of the tail that fit (the newest text stays in view), then ``footer()``
    (the toolbar) if given; ``tick()``, called a few times a second,
    repaints it when no text arrives (a long wait, a resize).

    A block taller than the region (a long paragraph or code block) does not
    wait for its end to reach the scrollback: the rows that scroll out of the
    top of the region are printed (committed) as they do, and the block's end
    prints only the rest, so the scrollback holds it once and the region
    stays at the bottom of the screen.
    """

    FOOTER_EVERY = 0.5  # seconds: the footer's refresh while nothing arrives
    COMMIT_LIMIT = 16_384  # characters: a longer tail is shown by its end only

    def __init__(
        self,
        console: Console,
        *,
        fps: float = 8.0,
        footer: Callable[[], RenderableType | None] | None = None,
        reflow: bool | None = None,
    ) -> None:
        self.console = console
        self.splitter = BlockSplitter()
        self.region = LiveRegion(console, reflow=reflow)
        self.footer = footer
        self._interval = 1.0 / fps
        self._last = 0.0
        self._started = False
        self._gap = False  # a block was printed: the next one needs a blank line
        self._pending: list[str] = []  # finished blocks not yet printed
        self._committed = 0  # rows of the tail block already printed
        self._committed_text = ""  # their text, without blanks
        self._shown: list[Row] = []  # the rows of the tail block the region shows

    def start(self) -> None:
        """Show the region (the footer) before any text arrives."""
        if self._started:
            return
        self._started = True
        self.region.start()
        if self.region.active:
            self._last = time.monotonic()
            self._frame()

    def feed(self, delta: str) -> None:
        if not self._started:
            self.start()
        block = self.splitter.feed(delta)
        if block:
            self._pending.append(block)
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._frame()

    def tick(self) -> None:
        """Repaint if nothing did for a while (the footer, a new size)."""
        now = time.monotonic()
        if self._started and now - self._last >= self.FOOTER_EVERY:
            self._last = now
            self._frame()

    def _frame(self) -> None:
        """Print the finished blocks (and the tail's rows that left the
        region) above the live region and repaint it, in one write."""
        if self.region.spilled():
            self._keep_shown()
        done = "".join(self._pending)
        self._pending.clear()
        above: list[Any] = []
        if done.strip():
            above.append(self._finished(done))
        rows, leaving = self._live_rows()
        if leaving:
            above.append(Rows(leaving, end=True))
        if above:
            from rich.console import Group  # start-up: rich loads with the first reply drawn

            self.region.rows = rows
            self.console.print(Group(*above))  # the region is redrawn below it
        elif self.region.active:
            self.region.show(rows)

    def _keep_shown(self) -> None:
        """The terminal's size changed so that it may have pushed the top
        rows of the region into the scrollback (``LiveRegion.spilled``):
        the tail's rows shown are left where they are, as printed
        (committed), but for the last (it may end in a word cut in two) and
        the footer, which are erased (the rows nearest the cursor stay on
        the screen), and the tail goes on under them."""
        kept, self._shown = self._shown[:-1], []
        if not kept:
            return
        self._committed += len(kept)
        self._committed_text += "".join(_bare(row) for row in kept)
        self.region.keep(len(kept))

    def _finished(self, text: str) -> RenderableType:
        """Finished blocks, less the rows of the first already committed."""
        view = self._spaced(text)
        if not self._committed:
            return view
        committed, count = self._committed_text, self._committed
        self._committed_text, self._committed = "", 0
        return Rows(_uncommitted(render_rows(self.console, view), committed, count), end=True)

    def _spaced(self, text: str) -> RenderableType:
        """``text`` as Markdown, after the blank line rich would put there if
        the whole reply were one document: none before the first block, none
        after a rule (it ends in one) or before a list, quote or table (they
        start with one)."""
        # start-up: rich loads with the first reply drawn
        from rich.console import Group
        from rich.text import Text

        md = markdown(text)
        tokens = md.parsed
        gap = self._gap and not (tokens and tokens[0].type in _OPENS_WITH_BLANK)
        if tokens:
            self._gap = tokens[-1].type != "hr"
        return Group(Text(), md) if gap else md

    def _live_rows(self) -> tuple[list[Row], list[Row]]:
        """The region's rows, and the tail's rows that leave it (to print)."""
        self._shown = []
        if not self.region.active:
            return [], []
        footer = self._footer_rows()
        room = max(self.region.room - len(footer), 1)
        tail, leaving = self._tail_rows(room)
        return tail + footer, leaving

    def _footer_rows(self) -> list[Row]:
        view = self.footer() if self.footer is not None else None
        return render_rows(self.console, view)[:1] if view is not None else []

    def _tail_rows(self, room: int) -> tuple[list[Row], list[Row]]:
        """The last ``room`` rows of the tail, rendered as they will be
        printed, and the rows above them not committed yet."""
        tail = self.splitter.tail
        if not tail.strip():
            return [], []
        whole = len(tail) <= self.COMMIT_LIMIT
        text = tail if whole else recent(tail, max(room * self.console.width * 2, 2048))
        gap = self._gap
        view = self._spaced(text)
        self._gap = gap
        rows = render_rows(self.console, view)
        if not whole:
            return rows[-room:], []
        # the rows printed already are not shown again, even when the region
        # has room for them (a taller or wider terminal)
        rest = _uncommitted(rows, self._committed_text, self._committed)
        if rest is rows:  # none of it printed yet, or the block changed: all of it shows
            self._committed_text, self._committed = "", 0
        if len(rest) <= room:
            self._shown = rest
            return rest, []
        leaving = rest[:-room]
        self._committed += len(leaving)
        self._committed_text += "".join(_bare(row) for row in leaving)
        self._shown = rest[-room:]
        return self._shown, leaving

    def finish(self) -> None:
        if self.region.spilled():
            self._keep_shown()
        self.region.stop()
        rest = "".join(self._pending) + self.splitter.tail
        self._pending.clear()
        if rest.strip():
            self.console.print(self._finished(rest))


def _uncommitted(rows: list[Row], committed: str, count: int) -> list[Row]:
    """``rows`` less the ``count`` rows already printed, whose bare text was
    ``committed``; after a resize, rows of another width cut that text
    elsewhere: the first row left is cut where it ends. ``rows`` itself if
    none was printed, or if they do not start with that text (the block
    changed as it ended, e.g. its markup closed: it is shown whole)."""
    if not count:
        return rows
    if "".join(_bare(row) for row in rows[:count]) == committed:
        return rows[count:]  # the same rows as when they were committed
    seen = ""
    for i, row in enumerate(rows):
        bare = _bare(row)
        if len(seen) + len(bare) > len(committed):
            if not committed.startswith(seen) or not bare.startswith(committed[len(seen) :]):
                return rows
            rest = _after(row, len(committed) - len(seen))
            return ([rest] if rest else []) + rows[i + 1 :]
        seen += bare
    return [] if committed.startswith(seen) else rows


def _after(row: Row, n: int) -> Row:
    """``row`` after its first ``n`` non-blank characters (and the blanks
    after them); [] if nothing else shows."""
    from rich.segment import Segment  # start-up: rich loads with the first reply drawn

    if n <= 0:
        return row
    out: list[Segment] = []
    for seg in row:
        if n <= 0 or seg.control:
            out.append(seg)
            continue
        cut = 0
        while cut < len(seg.text) and n > 0:
            n -= seg.text[cut] not in _NOT_BARE_CHARS  # counted as _bare counts
            cut += 1
        if cut < len(seg.text):
            out.append(Segment(seg.text[cut:], seg.style))
    if out and not _bare(out):
        return []
    while out and not out[0].control and not out[0].text.strip():
        out.pop(0)
    if out:
        out[0] = Segment(out[0].text.lstrip(), out[0].style, out[0].control)
    return out


_NOT_BARE_CHARS = " \t\n*_`~"
_NOT_BARE = str.maketrans("", "", _NOT_BARE_CHARS)


def _bare(row: Row) -> str:
    """A row's text without blanks (to match rows rendered at another
    width) nor inline markup marks (shown as they are until closed)."""
    return "".join(seg.text.translate(_NOT_BARE) for seg in row if not seg.control)


class PlainStream:
    """``--plain`` / NO_COLOR: the text as it arrives, control characters removed."""

    def __init__(self, file: IO[str]) -> None:
        self.file = file
        self._last = 0.0
        self._ends_newline = True

    def feed(self, delta: str) -> None:
        text = clean(delta)
        if text:
            self.file.write(text)
            self._ends_newline = text.endswith("\n")
        now = time.monotonic()
        if now - self._last > 0.05:
            self.file.flush()
            self._last = now

    def break_line(self) -> None:
        """End the line the reply is on, so something else can be printed."""
        if not self._ends_newline:
            self.file.write("\n")
            self._ends_newline = True

    def finish(self) -> None:
        self.break_line()
        self.file.flush()


def make_console(file: IO[str], *, plain: bool, width: int | None = None) -> Console:
    from rich.console import Console  # start-up: rich loads with the first reply drawn

    return Console(
        file=file,
        width=width,
        color_system=None if plain else "auto",
        no_color=plain or None,  # None: rich reads NO_COLOR (colour goes, layout stays)
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
    )


def stream_for(console: Console, *, plain: bool) -> Any:
    return PlainStream(console.file) if plain else MarkdownStream(console)
