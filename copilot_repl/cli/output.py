"""What the command-line front ends write the same way: the error and warning lines,
plain-text tables (their cells made safe: model names and session names may
come from servers and files), and whether a stream is a terminal."""

from __future__ import annotations

from typing import IO, Any

from copilot_repl.sanitize import clean, one_line


def write_error(stream: IO[str], text: str) -> None:
    """``copilot-repl: error: TEXT``, on one line."""
    stream.write(f"copilot-repl: error: {one_line(text)}\n")
    stream.flush()


def write_warning(stream: IO[str], text: str) -> None:
    """``copilot-repl: warning: TEXT``, on one line."""
    stream.write(f"copilot-repl: warning: {one_line(text)}\n")


def write_table(
    stream: IO[str], header: list[str], rows: list[list[str]], *, with_header: bool = True
) -> None:
    """Columns of cleaned cells, two spaces apart, as wide as their widest
    cell (the header's included, shown or not)."""
    rows = [[clean(str(c)) for c in row] for row in rows]
    widths = [max(len(c) for c in col) for col in zip(header, *rows, strict=False)]
    lines = [
        "  ".join([c.ljust(w) for c, w in zip(row, widths, strict=False)]).rstrip() + "\n"
        for row in ([header, *rows] if with_header else rows)
    ]
    stream.write("".join(lines))  # one write: :ls of a thousand sessions is a thousand rows


def is_tty(stream: IO[Any]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a file at all
        return False
