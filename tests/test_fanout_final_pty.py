"""Issue 25, round three: what ``:ask``/``:all`` leave in the scrollback once
their live columns (on the alternate screen) are gone, in a real
pseudo-terminal drawn on a pyte screen. Timeouts are guards."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import pytest

pyte = pytest.importorskip("pyte")

from screen_harness import Screen, words  # noqa: E402  (after the skip: pyte may be missing)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

FIGURES = re.compile(r"[\d.]+ s$")  # a reply's figures end with its seconds


def test_stacked_replies_keep_their_whole_figures_in_the_scrollback(
    term: Callable[[int, int], Screen],
) -> None:
    """60x24, ``:ask`` to three sessions (stacked): each reply's header in the
    final copy was cut with "…" at the width (``── main (openai:gpt-4o-mini)
    · 80 tokens · TTFT 0.04 s · 0.…``): the seconds, and a slow reply's
    tok/s, lost from the only copy kept. It wraps instead."""
    screen = term(24, 60)
    screen.line(":new s2")
    screen.prompt("s2")
    screen.line(":new s3 --model openai:slow")
    screen.prompt("s3")
    screen.line(":ask main,s2,s3 " + words(30, "f"))
    screen.prompt("s3")
    text = screen.transcript()
    rows = text.splitlines()
    heads = [i for i, r in enumerate(rows) if r.startswith("── ")]
    assert [rows[i].split()[1] for i in heads] == ["main", "s2", "s3"], text
    for i in heads:
        header = rows[i] if FIGURES.search(rows[i]) else f"{rows[i]} {rows[i + 1].strip()}"
        assert "…" not in header and FIGURES.search(header), text
        assert "tokens" in header, header
    assert "tok/s" in text, text  # the slow reply's rate, kept
