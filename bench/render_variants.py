"""What the streaming Markdown renderer could gain: ``MarkdownStream`` as it is
against prototype variants of it, each fed N fakeserver deltas on a 120x40
colour console writing to /dev/null (no network, no pty). Evidence for
bench/RESULTS.md, not a benchmark of the product: the variants subclass
``copilot_repl.render.markdown_stream.MarkdownStream`` here; nothing in copilot_repl changes.

    .venv/bin/python bench/render_variants.py [N [REPEATS]]

Variants:
  current          copilot_repl.render.markdown_stream.MarkdownStream
  no-force         after printing a finished block, blank the live region
                   instead of a forced re-parse + repaint of the tail (the
                   8 fps timed repaint redraws it)
  shared-parser    one MarkdownIt parser for every Markdown object (rich's
                   Markdown.__init__ builds a new MarkdownIt each time)
  no-force+parser  both
  batched+parser   finished blocks are held and printed together at most
                   8 times a second (one parse + one print per batch), the
                   tail repainted in the same tick; plus the shared parser
  rich, once       the whole reply rendered by rich in one go (for scale)
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def _shared_parser() -> Callable[[], None]:
    """Make rich's Markdown reuse one MarkdownIt parser; returns an undo."""
    import rich.markdown
    from markdown_it import MarkdownIt

    parser = MarkdownIt().enable("strikethrough").enable("table")
    original = rich.markdown.Markdown.__init__

    def init(
        self: Any,
        markup: str,
        code_theme: str = "monokai",
        justify: Any = None,
        style: Any = "none",
        hyperlinks: bool = True,
        inline_code_lexer: Any = None,
        inline_code_theme: Any = None,
    ) -> None:
        self.markup = markup
        self.parsed = parser.parse(markup)
        self.code_theme = code_theme
        self.justify = justify
        self.style = style
        self.hyperlinks = hyperlinks
        self.inline_code_lexer = inline_code_lexer
        self.inline_code_theme = inline_code_theme or code_theme

    rich.markdown.Markdown.__init__ = init  # type: ignore[method-assign]

    def undo() -> None:
        rich.markdown.Markdown.__init__ = original  # type: ignore[method-assign]

    return undo


def _variants() -> dict[str, type[Any]]:
    from rich.console import RenderableType
    from rich.text import Text

    from copilot_repl.render.markdown_stream import MarkdownStream

    class NoForce(MarkdownStream):
        def feed(self, delta: str) -> None:
            if not self._started:
                self.live.start()
                self._started = True
            block = self.splitter.feed(delta)
            if block.strip():
                self.live.update(Text(""), refresh=False)
                self.live.console.print(self._spaced(block))
            self._repaint()

    class Batched(MarkdownStream):
        pending = ""

        def feed(self, delta: str) -> None:
            if not self._started:
                self.live.start()
                self._started = True
            self.pending += self.splitter.feed(delta)
            now = time.monotonic()
            if now - self._last < self._interval:
                return
            self._last = now
            if self.pending.strip():
                self.live.update(Text(""), refresh=False)
                self.live.console.print(self._spaced(self.pending))
                self.pending = ""
            self.live.update(self._tail_view(), refresh=True)

        def _tail_view(self) -> RenderableType:
            tail = self.pending + self.splitter.tail
            lines = tail.split("\n")
            room = max(self.console.height - 4, 3)
            if len(lines) > room:
                return Text("\n".join(lines[-room:]))
            gap = self._gap
            view = self._spaced(tail)
            self._gap = gap
            return view

        def finish(self) -> None:
            if self._started:
                self.live.stop()
            tail = self.pending + self.splitter.tail
            if tail.strip():
                self.console.print(self._spaced(tail))

    return {"current": MarkdownStream, "no-force": NoForce, "batched": Batched}


def run(n: int) -> list[tuple[str, float]]:
    from fakeserver import markdown_deltas
    from rich.console import Console
    from rich.markdown import Markdown

    deltas = markdown_deltas(n)
    classes = _variants()
    plan = [
        ("current", "current", False),
        ("no-force", "no-force", False),
        ("shared-parser", "current", True),
        ("no-force+parser", "no-force", True),
        ("batched+parser", "batched", True),
    ]
    out = []
    with open(os.devnull, "w") as sink:

        def console() -> Console:
            return Console(
                file=sink,
                width=120,
                height=40,
                force_terminal=True,
                color_system="256",
                markup=False,
                emoji=False,
                highlight=False,
            )

        warm = classes["current"](console())  # imports and lexers, outside the timing
        for delta in markdown_deltas(300):
            warm.feed(delta)
        warm.finish()
        for label, kind, shared in plan:
            undo = _shared_parser() if shared else None
            try:
                stream = classes[kind](console())
                t = time.perf_counter()
                for delta in deltas:
                    stream.feed(delta)
                stream.finish()
                out.append((label, time.perf_counter() - t))
            finally:
                if undo is not None:
                    undo()
        t = time.perf_counter()
        console().print(Markdown("".join(deltas), code_theme="monokai", hyperlinks=False))
        out.append(("rich, once", time.perf_counter() - t))
    return out


def main() -> int:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    times: dict[str, list[float]] = {}
    for _ in range(repeats):
        for label, seconds in run(n):
            times.setdefault(label, []).append(seconds)
    base = statistics.median(times["current"])
    for label, values in times.items():
        med = statistics.median(values)
        print(
            f"{label:16} {n:6d} deltas  median {med:6.2f} s  min {min(values):6.2f} s  "
            f"{med / base:5.2f}× current"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
