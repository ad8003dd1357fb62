"""Issue 25's drawing bugs, as a terminal shows them: copilot-repl in a real
pseudo-terminal drawn on a pyte screen (the harness of test_live_view.py).
Timeouts are guards, not timing assertions."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable

import pytest
import test_live_view
from test_live_view import Screen, words

pyte = pytest.importorskip("pyte")
term = test_live_view.term  # the fixture: copilot-repl in a pty, drawn on pyte

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


def test_stacked_ask_keeps_every_header_on_its_own_row(
    term: Callable[[int, int], Screen],
) -> None:
    """3: at 60x24, :ask to three sessions (columns under 30 characters:
    stacked) with one slow model: a reply's last row ran into the next
    header (``…gamma── s2 (``) and s3's header was missing all along."""
    screen = term(24, 60)
    screen.line(":new s2")
    screen.prompt("s2")
    screen.line(":new s3 --model openai:slow")
    screen.prompt("s3")
    screen.line(":ask main,s2,s3 " + words(40, "g") + " gamma")
    screen.wait(
        lambda: re.search(r"── main \(.*TTFT", screen.display) and "s3 ⟳" in screen.display,
        "main done while s3 streams",
    )
    rows = screen.display.splitlines()
    headers = [r for r in rows if "── " in r]
    assert [h.split("── ")[1].split()[0] for h in headers] == ["main", "s2", "s3"], rows
    assert all(h.startswith("── ") for h in headers), headers  # none run into a reply's row
    screen.prompt("s3")


def test_stacked_all_over_five_sessions_shows_every_header_while_streaming(
    term: Callable[[int, int], Screen],
) -> None:
    """3, at 120x40 with five sessions (one slow)."""
    screen = term(40, 120)
    for name in ("s2", "s3", "s4"):
        screen.line(f":new {name}")
        screen.prompt(name)
    screen.line(":new s5 --model openai:slow")
    screen.prompt("s5")
    screen.line(":all " + words(60, "h"))
    screen.wait(
        lambda: re.search(r"── s4 \(.*TTFT", screen.display) and "s5 ⟳" in screen.display,
        "the fast ones done while s5 streams",
    )
    headers = [r for r in screen.display.splitlines() if "── " in r]
    assert [h.split("── ")[1].split()[0] for h in headers] == ["main", "s2", "s3", "s4", "s5"]
    assert all(h.startswith("── ") for h in headers), headers
    screen.prompt("s5")
