"""What the command-line front ends write the same way: the error and warning lines,
the exit status of a subcommand's errors, plain-text tables (their cells made
safe: model names and session names may come from servers and files), and
whether a stream is a terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, Any, TypeVar

from copilot_repl.errors import BadUsage, ReplError
from copilot_repl.sanitize import clean, one_line

Ready = TypeVar("Ready")


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
    for row in [header, *rows] if with_header else rows:
        cells = [c.ljust(w) for c, w in zip(row, widths, strict=False)]
        stream.write("  ".join(cells).rstrip() + "\n")


def is_tty(stream: IO[Any]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # closed, or not a file at all
        return False


def run_subcommand(
    name: str,
    stderr: IO[str],
    setup: Callable[[], Ready],
    act: Callable[[Ready], int],
    *,
    hinted: tuple[type[ReplError], ...] = (BadUsage,),
) -> int:
    """``copilot-repl NAME``'s exit status, the same for every subcommand:
    ``setup`` (parse the arguments, build the client) exits as argparse does
    for ``--help``; its ``hinted`` errors are one line ending "(see
    copilot-repl NAME --help)", other errors one line; both exit 2. Then
    ``act(what setup made)``: a usage error exits 2, any other error 1."""
    try:
        ready = setup()
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    except hinted as exc:
        write_error(stderr, f"{exc} (see copilot-repl {name} --help)")
        return 2
    except ReplError as exc:
        write_error(stderr, str(exc))
        return 2
    try:
        return act(ready)
    except BadUsage as exc:
        write_error(stderr, str(exc))
        return 2
    except ReplError as exc:
        write_error(stderr, str(exc))
        return 1
