"""The shell draws a fenced code block with ``CodeBlockView`` (a third of the
time of rich's ``Syntax``). It must look as rich's Markdown draws it,
``Syntax(code, lexer, theme=..., word_wrap=True, padding=1)``, cell by cell
and colour by colour, with one difference, on purpose: a line too long for
the width is cut at the last column (as a terminal wraps it, every space
kept), not at a space before it. Checked for a corpus of blocks, two
themes and several widths."""

from __future__ import annotations

from typing import Any

import pytest
from rich.cells import cell_len
from rich.console import Console
from rich.style import Style
from rich.syntax import Syntax

from copilot_repl.render.markdown import CodeBlockView

CORPUS = {
    "python": (
        "python",
        'def greet(name: str) -> str:\n    """Say hello."""\n    return f"hello {name}!"  # x\n',
    ),
    "long line": ("python", "x = [" + ", ".join(str(i) for i in range(60)) + "]"),
    "bash": ("bash", 'for f in *.py; do\n\techo "$f" | wc -c\ndone'),
    "json": ("json", '{"a": [1, 2.5, null, true], "b": {"c": "d"}}'),
    "blank lines": ("python", "a = 1\n\n\nb = 2\n"),
    "trailing blanks": ("text", "x   \n    \ny"),
    "tabs": ("go", "func main() {\n\tif x {\n\t\treturn\n\t}\n}"),
    "wide characters": ("text", "表示 テスト 한국어 " * 6),
    "unknown language": ("no-such-language", "some <code> here & there"),
    "empty": ("python", ""),
    "one word": ("", "word"),
    "diff": ("diff", "--- a\n+++ b\n@@ -1 +1 @@\n-old line\n+new line"),
}
THEMES = ["monokai", "ansi_dark"]
Cell = tuple[object, ...]


def cells(renderable: Any, width: int) -> list[list[Cell]]:
    """What a terminal of ``width`` columns shows, cell by cell: the
    character and how it looks (a blank shows no foreground colour)."""
    console = Console(width=width, force_terminal=True, color_system="truecolor")
    lines = console.render_lines(renderable, console.options.update(width=width), pad=False)
    return [[look(ch, seg.style) for seg in line for ch in seg.text] for line in lines]


def look(ch: str, style: Style | None) -> Cell:
    s = style or Style()
    blank = not ch.strip()
    fg = None if blank and not (s.underline or s.strike) else s.color
    marks = () if blank else (s.bold, s.italic, s.dim)
    return (ch, fg, s.bgcolor, *(bool(x) for x in (s.underline, s.reverse, s.strike, *marks)))


def widest(code: str) -> int:
    return max((cell_len(line) for line in code.expandtabs(4).splitlines()), default=0)


def fitting(code: str) -> int:
    return max(widest(code) + 2, 4)


@pytest.mark.parametrize(("lexer", "code"), CORPUS.values(), ids=CORPUS.keys())
@pytest.mark.parametrize("theme", THEMES)
def test_a_code_block_that_fits_looks_as_rich_draws_it(lexer: str, code: str, theme: str) -> None:
    code = code.rstrip()  # as rich's Markdown gives it
    for width in {fitting(code), fitting(code) + 7, max(fitting(code), 100)}:
        ours = cells(CodeBlockView(code, lexer, theme), width)
        rich = cells(Syntax(code, lexer, theme=theme, word_wrap=True, padding=1), width)
        assert ours == rich, width


@pytest.mark.parametrize("width", [7, 12, 40])
@pytest.mark.parametrize(("lexer", "code"), CORPUS.values(), ids=CORPUS.keys())
def test_a_long_line_is_cut_at_the_last_column(lexer: str, code: str, width: int) -> None:
    """Each line as drawn when it fits, cut into rows of the inner width (a
    wide character that does not fit goes to the next row), padded."""
    code = code.rstrip()
    top, *body, _ = cells(CodeBlockView(code, lexer, "monokai"), fitting(code))
    blank = top[0]  # a space on the background
    expected = [[blank] * width]
    for row, line in zip(body, code.expandtabs(4).splitlines() or [""], strict=True):
        pieces: list[list[Cell]] = [[]]
        for cell in row[1 : 1 + len(line)]:
            if cell_len("".join(str(c[0]) for c in [*pieces[-1], cell])) > width - 2:
                pieces.append([])
            pieces[-1].append(cell)
        for piece in pieces:
            used = cell_len("".join(str(c[0]) for c in piece))
            expected.append([blank, *piece, *[blank] * (width - 1 - used)])
    expected.append([blank] * width)
    assert cells(CodeBlockView(code, lexer, "monokai"), width) == expected
