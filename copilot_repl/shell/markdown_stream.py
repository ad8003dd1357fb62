"""Rendering replies with rich, fast for long replies.

A streaming reply is split into finished Markdown blocks (printed once) and
an unfinished tail (repainted a few times a second): the work per delta does
not grow with the length of the reply.
"""

from __future__ import annotations

import functools
import re
import time
from typing import IO, TYPE_CHECKING, Any

from copilot_repl.sanitize import clean

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.markdown import Markdown


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
    return _markdown_class()(clean(text), code_theme="monokai", hyperlinks=False)


@functools.cache
def _markdown_class() -> type[Markdown]:
    """rich's Markdown, with code blocks that reuse one pygments lexer per
    language (rich looks the lexer up again for every block, ~1 ms each)."""
    from rich.markdown import CodeBlock, Markdown
    from rich.syntax import Syntax

    class CodeBlockCachedLexer(CodeBlock):
        def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
            code = str(self.text).rstrip()
            yield Syntax(code, _lexer(self.lexer_name), theme=self.theme, word_wrap=True, padding=1)

    class ReplMarkdown(Markdown):
        elements = {**Markdown.elements, "fence": CodeBlockCachedLexer,
                    "code_block": CodeBlockCachedLexer}  # fmt: skip

    return ReplMarkdown


@functools.lru_cache(maxsize=64)
def _lexer(name: str) -> Any:
    """The pygments lexer for a fence's language, as rich would make it, or the
    name itself if pygments does not know it (rich then shows plain text)."""
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=True, tabsize=4)
    except ClassNotFound:
        return name


class MarkdownStream:
    """Prints finished blocks once, keeps the tail in a small live region.

    Work is done per frame (at most ``fps`` a second), not per delta: the
    blocks finished since the last frame are rendered together, once, and
    the tail is repainted in the same refresh.
    """

    def __init__(self, console: Console, *, fps: float = 8.0) -> None:
        from rich.live import Live

        self.console = console
        self.splitter = BlockSplitter()
        self.live = Live(
            console=console, auto_refresh=False, transient=True, vertical_overflow="crop"
        )
        self._interval = 1.0 / fps
        self._last = 0.0
        self._started = False
        self._gap = False  # a block was printed: the next one needs a blank line
        self._pending: list[str] = []  # finished blocks not yet printed

    def feed(self, delta: str) -> None:
        if not self._started:
            self.live.start()
            self._started = True
        block = self.splitter.feed(delta)
        if block:
            self._pending.append(block)
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._frame()

    def _frame(self) -> None:
        """Print the finished blocks above the live region and repaint the
        tail, in one refresh."""
        done = "".join(self._pending)
        self._pending.clear()
        if done.strip():
            block = self._spaced(done)
            self.live.update(self._tail_view(), refresh=False)
            self.live.console.print(block)  # the live region is redrawn below it
        else:
            self.live.update(self._tail_view(), refresh=True)

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

    def _tail_view(self) -> RenderableType:
        from rich.text import Text

        tail = self.splitter.tail
        room = max(self.console.height - 4, 3)
        lines = tail.split("\n")
        if len(lines) <= room:
            gap = self._gap
            view = self._spaced(tail)
            self._gap = gap
            return view
        return Text(clean("\n".join(lines[-room:])))

    def finish(self) -> None:
        if self._started:
            self.live.stop()
        rest = "".join(self._pending) + self.splitter.tail
        self._pending.clear()
        if rest.strip():
            self.console.print(self._spaced(rest))


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
