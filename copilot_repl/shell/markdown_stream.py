"""Rendering replies with rich, fast for long replies, and the live region
they stream in.

A streaming reply is split into finished Markdown blocks (printed once, into
the scrollback) and an unfinished tail, shown in a ``LiveRegion`` at the
bottom of the terminal: the last rows of the tail, however tall the block
(the newest text stays in view), and the toolbar under them. The work per
delta does not grow with the length of the reply.
"""

from __future__ import annotations

import functools
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import IO, TYPE_CHECKING, Any

from copilot_repl.sanitize import clean

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.markdown import Markdown
    from rich.segment import Segment

    Row = list[Segment]
_LIST_ITEM = re.compile(r"(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")


class BlockSplitter:
    """Finds where Markdown blocks end in a growing text (pure, incremental).

    A block ends at a blank line outside a fenced code block, or at the line
    that closes a fence -- once the next non-blank line shows that nothing
    continues it: an indented line (an item's second paragraph, an indented
    code block) or, when the block is a list, the next item (a loose list)
    belongs to the same block. Each feed looks only at the new text, and the
    text already handed out is not kept.
    """

    def __init__(self) -> None:
        self._lines: list[str] = []  # complete lines of the unfinished block
        self._partial = ""  # the incomplete last line
        self._fence = ""  # the open fence marker, or ""
        self._may_end = False  # a blank line or closing fence: the block may be over
        self._has_text = False  # the block has a non-blank line
        self._is_list = False  # the block starts with a list item

    def feed(self, delta: str) -> str:
        """Add ``delta``; return newly finished blocks ("" if none)."""
        if "\n" not in delta:
            self._partial += delta
            return ""
        pieces = (self._partial + delta).split("\n")
        self._partial = pieces.pop()
        done: list[str] = []
        for line in pieces:
            if self._may_end and line.strip():
                self._may_end = False
                if not self._continues(line):
                    done.extend(self._lines)
                    self._lines = []
                    self._has_text = False
            if not self._has_text and line.strip():
                self._has_text = True
                self._is_list = bool(_LIST_ITEM.match(line.lstrip()))
            self._lines.append(line + "\n")
            if self._line_may_end_block(line):
                self._may_end = True
        return "".join(done)

    def _continues(self, line: str) -> bool:
        """Whether ``line``, after a possible end, still belongs to the block."""
        if line[:1] in (" ", "\t"):
            return self._has_text
        return self._is_list and bool(_LIST_ITEM.match(line))

    def _line_may_end_block(self, line: str) -> bool:
        stripped = line.strip()
        if self._fence:
            if stripped.startswith(self._fence) and not stripped.strip(self._fence[0]):
                self._fence = ""
                return True
            return False
        if stripped.startswith(("```", "~~~")):
            marker = stripped[0]
            self._fence = marker * (len(stripped) - len(stripped.lstrip(marker)))
            return False
        return not stripped

    @property
    def tail(self) -> str:
        return "".join(self._lines) + self._partial


# rich starts these with a blank line of their own
_OPENS_WITH_BLANK = frozenset(
    {"bullet_list_open", "ordered_list_open", "blockquote_open", "table_open"}
)


def markdown(text: str) -> RenderableType:
    """A reply as rich Markdown: no links turned into OSC 8, no raw escapes."""
    return _markdown(text)


def _markdown(text: str) -> Markdown:
    # justify "default": rows are not padded with blanks to the width
    return _markdown_class()(clean(text), code_theme="monokai", hyperlinks=False, justify="default")


@functools.cache
def _markdown_class() -> type[Markdown]:
    """rich's Markdown, with code blocks drawn by ``CodeBlockView`` (rich's
    ``Syntax`` costs ~1 ms a block; this, about a third of that)."""
    from rich.markdown import CodeBlock, Markdown

    class FastCodeBlock(CodeBlock):
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            yield CodeBlockView(str(self.text).rstrip(), self.lexer_name, self.theme)

    class ReplMarkdown(Markdown):
        elements = {**Markdown.elements, "fence": FastCodeBlock, "code_block": FastCodeBlock}

    return ReplMarkdown


@functools.lru_cache(maxsize=64)
def _lexer(name: str) -> Any:
    """The pygments lexer for a fence's language, as rich would make it, or
    None if pygments does not know it (the code is shown plain)."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=True, tabsize=4)
    except ClassNotFound:
        return None


@functools.lru_cache(maxsize=8)
def _code_theme(name: str) -> Any:
    from rich.syntax import Syntax

    return Syntax.get_theme(name)


class CodeBlockView:
    """A fenced code block as rich's ``Syntax(..., word_wrap=True, padding=1)``
    draws it (highlighted, on the theme's background, one cell of padding
    around), but made of segments directly: long lines wrap at the width."""

    def __init__(self, code: str, lexer_name: str, theme: str) -> None:
        self.code = code.expandtabs(4)
        self.lexer = _lexer(lexer_name)
        self.theme = _code_theme(theme)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        theme = self.theme
        background = theme.get_background_style()
        width = max(options.max_width, 3)
        inner = width - 2
        styles: dict[Any, tuple[Any, bool]] = {}
        line = Segment.line()
        # a row is runs of (text, style); blanks join the run before them
        # when they look the same there (same background, no underline):
        # fewer segments, fewer escape sequences
        runs: list[list[Any]] = []
        used = 0

        def end_row() -> list[Segment]:
            nonlocal runs, used
            fill = " " * (inner - used + 1)
            if runs and runs[-1][2]:
                runs[-1][0] += fill
            else:
                runs.append([fill, background, True])
            out = (
                [Segment(" " + runs[0][0], runs[0][1])]
                if runs[0][2]
                else [Segment(" ", background), Segment(runs[0][0], runs[0][1])]
            )
            out += [Segment(text, style) for text, style, _ in runs[1:]]
            out.append(line)
            runs, used = [], 0
            return out

        blank = [Segment(" " * width, background), line]
        yield from blank
        for token_type, value in self._tokens():
            known = styles.get(token_type)
            if known is None:
                style = background + theme.get_style_for_token(token_type)
                plain_blank = style.bgcolor == background.bgcolor and not (
                    style.underline or style.reverse or style.strike
                )
                known = styles[token_type] = (style, plain_blank)
            style, plain_blank = known
            for i, piece in enumerate(value.split("\n")):
                if i:
                    yield from end_row()
                while piece:
                    fits, piece = _cut_cells(piece, inner - used)
                    if fits:
                        used += _cells(fits)
                        if runs and (runs[-1][1] is style or (not fits.strip() and runs[-1][2])):
                            runs[-1][0] += fits
                        else:
                            runs.append([fits, style, plain_blank])
                    if piece:
                        yield from end_row()
        if runs or not self.code:
            yield from end_row()
        yield from blank

    def _tokens(self) -> Iterable[tuple[Any, str]]:
        if self.lexer is None:
            from pygments.token import Token

            return [(Token.Text, self.code)]
        text = self.code
        tokens: Iterable[tuple[Any, str]] = self.lexer.get_tokens(text)
        if text.endswith("\n"):
            return tokens
        # the lexer adds a newline at the end (ensurenl): drop it again
        out = list(tokens)
        if out and out[-1][1].endswith("\n"):
            out[-1] = (out[-1][0], out[-1][1][:-1])
        return out


def _cells(text: str) -> int:
    if text.isascii():
        return len(text)
    from rich.cells import cell_len

    return cell_len(text)


def _cut_cells(text: str, room: int) -> tuple[str, str]:
    """``text`` cut so that the first part fits in ``room`` cells."""
    if text.isascii():
        return text[:room], text[room:]
    from rich.cells import get_character_cell_size

    used = 0
    for i, ch in enumerate(text):
        used += get_character_cell_size(ch)
        if used > room:
            return text[:i], text[i:]
    return text, ""


_FENCE_LINE = re.compile(r"^ {0,3}(`{3,}|~{3,})", re.MULTILINE)


def recent(text: str, limit: int) -> str:
    """The end of ``text`` (about ``limit`` characters), from the start of a
    line, as Markdown that renders like the end of the whole: inside a fenced
    code block, the fence line comes first. Bounds the work of showing the
    newest part of a long block."""
    if len(text) <= limit:
        return text
    start = len(text) - limit
    line = text.rfind("\n", 0, start) + 1
    if start - line > limit:  # one very long line: start at a word
        space = text.find(" ", start)
        return text[space + 1 :] if space != -1 else text[start:]
    fences = [m for m in _FENCE_LINE.finditer(text, 0, line)]
    opened = _open_fence(fences)
    if opened is None:
        return text[line:]
    fence_end = text.find("\n", opened.start())
    return text[opened.start() : fence_end + 1] + text[line:]


def _open_fence(fences: list[re.Match[str]]) -> re.Match[str] | None:
    """The fence line still open after ``fences`` (a closing fence is at
    least as long as, and made of the same character as, the opening one)."""
    opened: re.Match[str] | None = None
    for m in fences:
        if opened is None:
            opened = m
        elif m.group(1)[0] == opened.group(1)[0] and len(m.group(1)) >= len(opened.group(1)):
            opened = None
    return opened


def terminal_reflows(env: Mapping[str, str]) -> bool:
    """Whether the terminal re-wraps its lines when it gets narrower (tmux,
    VTE, kitty, iTerm2, Windows Terminal, ... do; xterm and the Linux
    console cut them)."""
    return not (env.get("XTERM_VERSION") or env.get("TERM") == "linux")


class _Raw:
    """Control text written as it is (cursor moves, erasing)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import ControlType, Segment

        if self.text:
            yield Segment(self.text, None, [(ControlType.BELL,)])


class Rows:
    """Rows already rendered (lists of segments), drawn one under the other."""

    def __init__(self, rows: list[Row], *, end: bool = False) -> None:
        self.rows = rows
        self.end = end  # a newline after the last row too

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment

        line = Segment.line()
        for i, row in enumerate(self.rows):
            if i:
                yield line
            yield from row
        if self.end and self.rows:
            yield line


def render_rows(
    console: Console, renderable: RenderableType, width: int | None = None
) -> list[Row]:
    """``renderable`` as rows of segments at ``width`` (default: the console's)."""
    options = console.options.update(height=None)
    if width is not None:
        options = options.update_width(max(width, 1))
    return console.render_lines(renderable, options, pad=False)


def _trimmed(row: Row) -> Row:
    """``row`` without the trailing blanks that show nothing (no background)."""
    from rich.segment import Segment

    out = list(row)
    while out:
        last = out[-1]
        if last.control or (last.style is not None and last.style.bgcolor is not None):
            break
        text = last.text.rstrip(" ")
        if text:
            out[-1] = Segment(text, last.style)
            break
        out.pop()
    return out


class LiveRegion:
    """Rows at the bottom of the output, redrawn in place; whatever the
    console prints meanwhile goes above them (a rich render hook).

    It is never taller than ``room`` rows, so that it can always be erased:
    the screen less one row, or, on a terminal that re-wraps its lines when
    it gets narrower (``terminal_reflows``), half the screen, so that even
    halving the width leaves all of it on the screen (what is pushed into the
    scrollback cannot be erased, and would show the reply twice). After such
    a resize it erases what the re-wrapping made of its rows. Rows are
    written without trailing blanks (little to re-wrap), and erased line by
    line (tmux keeps a screen cleared whole in its scrollback). Does nothing
    on a console that is not a terminal."""

    def __init__(self, console: Console, *, reflow: bool | None = None) -> None:
        self.console = console
        self.reflow = terminal_reflows(os.environ) if reflow is None else reflow
        self.rows: list[Row] = []  # what the next draw shows
        self.active = False
        self._shown: list[int] = []  # cell widths of the rows on screen
        self._width = 0  # the width they were drawn at

    @property
    def room(self) -> int:
        """How many rows the region may have."""
        height = self.console.height
        return max(height // 2 if self.reflow else height - 1, 2)

    def start(self) -> None:
        if self.active or not self.console.is_terminal:
            return
        self.active = True
        self.console.show_cursor(False)
        self.console.push_render_hook(self)  # type: ignore[arg-type]

    def show(self, rows: list[Row]) -> None:
        """Draw ``rows`` in place of the rows shown."""
        self.rows = rows
        if self.active:
            self.console.print(_Raw(""))

    def stop(self) -> None:
        """Erase the region; the console prints normally again."""
        if not self.active:
            return
        self.show([])
        self.console.pop_render_hook()
        self.active = False
        self.console.show_cursor(True)

    def process_renderables(self, renderables: list[Any]) -> list[Any]:
        return [self._erase(), *renderables, self._draw()]

    def _erase(self) -> _Raw:
        shown, self._shown = self._shown, []
        if not shown:
            return _Raw("")
        width = self.console.width
        rows = len(shown)
        if self.reflow and width < self._width:
            rows = sum(max(1, -(-cells // width)) for cells in shown)
        return _Raw("\r\x1b[2K" + "\x1b[1A\x1b[2K" * (min(rows, self.console.height) - 1))

    def _draw(self) -> Rows:
        from rich.segment import Segment

        width = self.console.width
        rows = [_trimmed(list(Segment.divide(row, [width]))[0]) for row in self.rows]
        rows = rows[-self.room :] if rows else rows
        self._shown = [sum(seg.cell_length for seg in row) for row in rows]
        self._width = width
        return Rows(rows)


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
        done = "".join(self._pending)
        self._pending.clear()
        above: list[Any] = []
        if done.strip():
            above.append(self._finished(done))
        rows, leaving = self._live_rows()
        if leaving:
            above.append(Rows(leaving, end=True))
        if above:
            from rich.console import Group

            self.region.rows = rows
            self.console.print(Group(*above))  # the region is redrawn below it
        elif self.region.active:
            self.region.show(rows)

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
        from rich.console import Group
        from rich.text import Text

        md = _markdown(text)
        tokens = md.parsed
        gap = self._gap and not (tokens and tokens[0].type in _OPENS_WITH_BLANK)
        if tokens:
            self._gap = tokens[-1].type != "hr"
        return Group(Text(), md) if gap else md

    def _live_rows(self) -> tuple[list[Row], list[Row]]:
        """The region's rows, and the tail's rows that leave it (to print)."""
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
        if not whole or len(rows) <= room:
            return rows[-room:], []
        keep = len(rows) - room
        leaving = _uncommitted(rows[:keep], self._committed_text, self._committed)
        if leaving:
            self._committed += len(leaving)
            self._committed_text = "".join(_bare(row) for row in rows[:keep])
        return rows[-room:], leaving

    def finish(self) -> None:
        self.region.stop()
        rest = "".join(self._pending) + self.splitter.tail
        self._pending.clear()
        if rest.strip():
            self.console.print(self._finished(rest))


def _uncommitted(rows: list[Row], committed: str, count: int) -> list[Row]:
    """``rows`` less the ``count`` rows already printed, whose bare text was
    ``committed``; after a resize, rows of another width cut that text
    elsewhere: the first row left is cut where it ends. All of them if they
    do not start with that text (the block changed as it ended, e.g. its
    markup closed: it is shown whole)."""
    if not committed or "".join(_bare(row) for row in rows[:count]) == committed:
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
    from rich.segment import Segment

    if n <= 0:
        return row
    out: list[Segment] = []
    for seg in row:
        if n <= 0 or seg.control:
            out.append(seg)
            continue
        cut = 0
        while cut < len(seg.text) and n > 0:
            n -= not seg.text[cut].isspace()
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


_NOT_BARE = str.maketrans("", "", " \t\n*_`~")


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
    from rich.console import Console

    return Console(
        file=file,
        width=width,
        color_system=None if plain else "auto",
        no_color=plain,
        markup=False,
        emoji=False,
        highlight=False,
        soft_wrap=False,
    )


def stream_for(console: Console, *, plain: bool) -> Any:
    return PlainStream(console.file) if plain else MarkdownStream(console)
