"""What the command-line front ends write the same way: the error line and
plain-text tables, whatever the text holds."""

from __future__ import annotations

import io

from copilot_repl.cli.compare import print_table
from copilot_repl.cli.output import write_error, write_table, write_warning

EVIL = "gpt\x1b[2J-4o\u202e"  # a screen clear and a bidi override, as a server may name a model


def test_the_error_and_warning_lines_are_one_line_of_safe_text() -> None:
    out = io.StringIO()
    write_error(out, f"cannot use {EVIL}:\nsecond line")
    write_warning(out, f"{EVIL}\r\nskipped")
    assert out.getvalue().splitlines() == [
        "copilot-repl: error: cannot use gpt␛[2J-4o⟦U+202E⟧: second line",
        "copilot-repl: warning: gpt␛[2J-4o⟦U+202E⟧ skipped",
    ]


def test_tables_are_aligned_and_their_cells_safe() -> None:
    out = io.StringIO()
    write_table(out, ["model", "n"], [[EVIL, "1"], ["b", "22"]])
    shown = "gpt␛[2J-4o⟦U+202E⟧"
    assert out.getvalue().splitlines() == [
        "model" + " " * (len(shown) - 5) + "  n",
        shown + "  1",
        "b" + " " * (len(shown) - 1) + "  22",
    ]
    rows_only = io.StringIO()
    write_table(rows_only, ["a long header", "n"], [["x", "1"]], with_header=False)
    assert rows_only.getvalue() == "x              1\n"  # as wide as the header all the same


def test_the_compare_summary_off_a_terminal_is_the_same_table() -> None:
    out = io.StringIO()
    print_table(out, ["model", "n"], [[EVIL, "1"]])
    assert "\x1b" not in out.getvalue() and "\u202e" not in out.getvalue()
    assert out.getvalue().splitlines()[1] == "gpt␛[2J-4o⟦U+202E⟧  1"
