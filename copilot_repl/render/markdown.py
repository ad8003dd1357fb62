"""A reply as rich Markdown, its fenced code blocks drawn by ``CodeBlockView``:
as rich's ``Syntax`` draws them (tests/test_codeblock.py), in a third of the
time. rich and pygments are imported where they are used: the shell's first
frame comes before them."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from copilot_repl.sanitize import clean

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.markdown import Markdown


def markdown(text: str) -> Markdown:
    """A reply as rich Markdown: no links turned into OSC 8, no raw escapes.
    Justified "default": rows are not padded with blanks to the width."""
    return _markdown_class()(clean(text), code_theme="monokai", hyperlinks=False, justify="default")


@functools.cache
def _markdown_class() -> type[Markdown]:
    """rich's Markdown, with code blocks drawn by ``CodeBlockView`` (rich's
    ``Syntax`` costs ~1 ms a block; this, about a third of that)."""
    from rich.markdown import CodeBlock, Markdown  # start-up: rich loads with the first reply drawn

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
    # start-up: pygments loads with the first code block
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        return get_lexer_by_name(name, stripnl=False, ensurenl=True, tabsize=4)
    except ClassNotFound:
        return None


@functools.lru_cache(maxsize=8)
def _code_theme(name: str) -> Any:
    from rich.syntax import Syntax  # start-up: rich loads with the first reply drawn

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
        from rich.segment import Segment  # start-up: rich loads with the first reply drawn

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
            from pygments.token import Token  # start-up: pygments loads with the first code block

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
    from rich.cells import cell_len  # start-up: rich loads with the first reply drawn

    return cell_len(text)


def _cut_cells(text: str, room: int) -> tuple[str, str]:
    """``text`` cut so that the first part fits in ``room`` cells."""
    if text.isascii():
        return text[:room], text[room:]
    # start-up: rich loads with the first reply drawn
    from rich.cells import get_character_cell_size

    used = 0
    for i, ch in enumerate(text):
        used += get_character_cell_size(ch)
        if used > room:
            return text[:i], text[i:]
    return text, ""
