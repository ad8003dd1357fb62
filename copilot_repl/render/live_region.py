"""The live region: rows at the bottom of the terminal, redrawn in place while
a reply streams, with what is printed meanwhile going above them; the full
screen: rows on the terminal's alternate screen, the normal screen left as it
was; and rows already rendered, drawn as they are."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
    from rich.segment import Segment

    Row = list[Segment]


def terminal_reflows(env: Mapping[str, str]) -> bool:
    """Whether the terminal re-wraps its lines when it gets narrower (tmux,
    VTE, kitty, iTerm2, Windows Terminal, ... do; xterm and the Linux
    console cut them)."""
    return not (env.get("XTERM_VERSION") or env.get("TERM") == "linux")


def has_alternate_screen(console: Console, env: Mapping[str, str]) -> bool:
    """Whether ``console`` is a terminal with an alternate screen (xterm's
    private mode 1049, as ``watch``, ``less`` and fzf use it): not a dumb
    one, nor the Linux console, nor one whose kind is unknown."""
    if not console.is_terminal or console.legacy_windows:
        return False
    term = env.get("TERM", "").lower()
    if not term and sys.platform != "win32":
        return False
    return term not in ("dumb", "unknown", "linux")


class _Raw:
    """Control text written as it is (cursor moves, erasing)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # start-up: rich loads with the first reply drawn
        from rich.segment import ControlType, Segment

        if self.text:
            yield Segment(self.text, None, [(ControlType.BELL,)])


class Rows:
    """Rows already rendered (lists of segments), drawn one under the other."""

    def __init__(self, rows: list[Row], *, end: bool = False) -> None:
        self.rows = rows
        self.end = end  # a newline after the last row too

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.segment import Segment  # start-up: rich loads with the first reply drawn

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
    from rich.segment import Segment  # start-up: rich loads with the first reply drawn

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
    scrollback cannot be erased, and would show the reply twice); ``whole``:
    the screen less one row there too (the live columns of ``:ask`` on a
    terminal without an alternate screen, which would get 2-3 rows each in a
    short pane; narrowing the terminal while they stream may leave their top
    rows in the scrollback: ``FullScreen`` is used where it can be). After such
    a resize it erases what the re-wrapping made of its rows. A terminal that
    re-wraps keeps the blank rows under the cursor when it gets narrower, so
    on a screen not yet full it may push the top rows into the scrollback
    all the same, as does any terminal shorter than the rows: after such a
    resize (``spilled``) a reply's stream ``keep``s them, as printed. Rows are
    written without trailing blanks (little to re-wrap), and erased line by
    line (tmux keeps a screen cleared whole in its scrollback). Does nothing
    on a console that is not a terminal."""

    def __init__(
        self, console: Console, *, reflow: bool | None = None, whole: bool = False
    ) -> None:
        self.console = console
        self.reflow = terminal_reflows(os.environ) if reflow is None else reflow
        self.whole = whole
        self.rows: list[Row] = []  # what the next draw shows
        self.active = False
        self._shown: list[int] = []  # cell widths of the rows on screen
        self._width = 0  # the width they were drawn at

    @property
    def room(self) -> int:
        """How many rows the region may have."""
        height = self.console.height
        return max(height // 2 if self.reflow and not self.whole else height - 1, 2)

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

    def spilled(self) -> bool:
        """Whether the terminal's size changed since the rows on screen were
        drawn so that it may have pushed some into the scrollback, where
        they cannot be erased: it got narrower and re-wrapped them (tmux
        does so even with blank rows under the cursor: it keeps them), or
        shorter than they are."""
        if not self._shown:
            return False
        return (self.reflow and self.console.width < self._width) or (
            self._lines() > self.console.height
        )

    def _lines(self) -> int:
        """How many lines the rows shown take on the terminal now."""
        width = self.console.width
        if self.reflow and width < self._width:
            return sum(max(1, -(-cells // width)) for cells in self._shown)
        return len(self._shown)

    def keep(self, n: int) -> None:
        """Leave the first ``n`` rows shown where they are, as printed (not
        all of them: the next draw is on the rows under them)."""
        self._shown = self._shown[min(n, len(self._shown) - 1) :]

    def process_renderables(self, renderables: list[Any]) -> list[Any]:
        return [self._erase(), *renderables, self._draw()]

    def _erase(self) -> _Raw:
        if not self._shown:
            return _Raw("")
        rows, self._shown = self._lines(), []
        return _Raw("\r\x1b[2K" + "\x1b[1A\x1b[2K" * (min(rows, self.console.height) - 1))

    def _draw(self) -> Rows:
        from rich.segment import Segment  # start-up: rich loads with the first reply drawn

        width = self.console.width
        rows = [_trimmed(list(Segment.divide(row, [width]))[0]) for row in self.rows]
        rows = rows[-self.room :] if rows else rows
        self._shown = [sum(seg.cell_length for seg in row) for row in rows]
        self._width = width
        return Rows(rows)


class _Frame:
    """The marker a ``FullScreen`` prints to draw its rows (itself, nothing)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        return iter(())


_FRAME = _Frame()
NOTE_ROWS = 3  # rows of what was printed meanwhile shown above the full screen's rows


class FullScreen:
    """Rows on the terminal's alternate screen (``has_alternate_screen``),
    redrawn in place, each at its own row from the top: the whole height is
    theirs, and nothing is ever scrolled. Each draw is at the terminal's size
    of the moment, so a resize is drawn at the next one, whatever the terminal
    made of the rows shown (terminals do not re-wrap the alternate screen,
    and nothing of it reaches the scrollback). The normal screen and its
    scrollback stay as they were; what the console prints meanwhile is shown
    above the rows (its last ``NOTE_ROWS`` rows) and printed on the normal
    screen when the full screen is left. Does nothing on a console that is
    not a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.rows: list[Row] = []  # what the next draw shows
        self.active = False
        self._held: list[Any] = []  # printed meanwhile

    @property
    def room(self) -> int:
        """How many rows may be shown (the screen less the notes shown)."""
        return self._room(len(self._notes()))

    def _room(self, notes: int) -> int:
        return max(self.console.height - notes, 2)

    def start(self) -> None:
        if self.active or not self.console.is_terminal:
            return
        self.active = True
        self.console.set_alt_screen(True)
        self.console.show_cursor(False)
        self.console.push_render_hook(self)  # type: ignore[arg-type]

    def show(self, rows: list[Row]) -> None:
        """Draw ``rows`` in place of the rows shown."""
        self.rows = rows
        if self.active:
            self.console.print(_FRAME, crop=False)  # rows placed one by one: not one line

    def stop(self) -> None:
        """Back to the normal screen, as it was; what was printed meanwhile
        is printed there now."""
        if not self.active:
            return
        self.console.pop_render_hook()
        self.active = False
        self.console.set_alt_screen(False)
        self.console.show_cursor(True)
        held, self._held = self._held, []
        for renderable in held:
            self.console.print(renderable)

    def process_renderables(self, renderables: list[Any]) -> list[Any]:
        out: list[Any] = []
        for renderable in renderables:
            if renderable is _FRAME:
                out.append(self._draw())
            else:
                self._held.append(renderable)
        return out

    def _notes(self) -> list[Row]:
        """The last rows of what was printed meanwhile."""
        rows: list[Row] = []
        for renderable in self._held[-NOTE_ROWS:]:
            rows += render_rows(self.console, renderable)
        return rows[-NOTE_ROWS:]

    def _draw(self) -> _Placed:
        from rich.segment import Segment  # start-up: rich loads with the first reply drawn

        width, height = self.console.width, self.console.height
        notes = self._notes()
        rows = [*notes, *self.rows[-self._room(len(notes)) :]]
        rows = [_trimmed(list(Segment.divide(row, [width]))[0]) for row in rows]
        return _Placed(rows[-height:], width, height)


class _Placed:
    """Rows drawn from the top of the screen, each row at its place; what is
    right of a row, and the rows under the last one, erased."""

    def __init__(self, rows: list[Row], width: int, height: int) -> None:
        self.rows = rows
        self.width = width
        self.height = height

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for y, row in enumerate(self.rows, start=1):
            yield _Raw(f"\x1b[{y};1H")
            yield from row
            # (after a row as wide as the screen, the cursor is on its last cell)
            if sum(seg.cell_length for seg in row) < self.width:
                yield _Raw("\x1b[K")
        if len(self.rows) < self.height:
            yield _Raw(f"\x1b[{len(self.rows) + 1};1H\x1b[J")
