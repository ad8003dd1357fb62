"""A one-shot on a terminal (issue 25): the reply drawn as Markdown, as the
shell draws it; piped, the text as it came; NO_COLOR keeps the layout and
drops the colour. A real pseudo-terminal (pexpect); timeouts are guards."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pexpect
import pytest
from conftest import ROOT, run_cli
from fakeserver import FakeServer, Reply
from pty_harness import GUARD, Term

pyte = pytest.importorskip("pyte")
from screen_harness import (  # noqa: E402  (after the skip: pyte may be missing)
    Screen,
    assert_once_each,
    counts,
    newest,
    words,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

MARKDOWN = "# Plan\n\n- first step\n- second step\n\n**done** and `code`\n"


# the heading centred, the list with bullets, the bold and code marks gone
LAID_OUT = r"Plan *\n+ *• first step *\n *• second step *\n+ *done and code"


def one_shot(server: FakeServer, home: Path, *args: str, **env: str) -> Term:
    environ = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "xterm-256color", **env}
    if "NO_COLOR" not in env:
        environ.pop("NO_COLOR", None)
    child = pexpect.spawn(
        sys.executable, ["-m", "copilot_repl", "--base-url", server.url, *args], env=environ,
        cwd=str(ROOT), dimensions=(24, 80), encoding="utf-8", timeout=GUARD,
    )  # fmt: skip
    return Term(child)


def colours(raw: str) -> set[int]:
    params = {int(p) for seq in re.findall(r"\x1b\[([0-9;]*)m", raw) for p in seq.split(";") if p}
    return {p for p in params if 30 <= p <= 49 or 90 <= p <= 107}


def test_a_one_shot_on_a_terminal_renders_markdown(server: FakeServer, home: Path) -> None:
    server.queue(Reply(text=MARKDOWN))
    term = one_shot(server, home, "-p", "plan it")
    try:
        assert term.exit_status() == 0
        assert re.search(LAID_OUT, term.plain)
        assert "**done**" not in term.plain and "# Plan" not in term.plain
        assert "`code`" not in term.plain
        assert re.search(r"\x1b\[[0-9;]*1[;m]", term.raw)  # bold: in colour
    finally:
        term.child.close(force=True)


def test_no_color_keeps_the_layout_of_a_one_shot(server: FakeServer, home: Path) -> None:
    server.queue(Reply(text=MARKDOWN))
    term = one_shot(server, home, "-p", "plan it", NO_COLOR="1")
    try:
        assert term.exit_status() == 0
        assert re.search(LAID_OUT, term.plain)
        assert not colours(term.raw), sorted(colours(term.raw))
        assert "**done**" not in term.plain
    finally:
        term.child.close(force=True)


def test_plain_on_a_terminal_and_piped_give_the_text_as_it_came(
    server: FakeServer, home: Path
) -> None:
    server.queue(Reply(text=MARKDOWN))
    term = one_shot(server, home, "--plain", "-p", "plan it")
    try:
        assert term.exit_status() == 0
        assert "**done** and `code`" in term.plain
        assert not colours(term.raw)
    finally:
        term.child.close(force=True)
    server.queue(Reply(text=MARKDOWN))
    r = run_cli(["--base-url", server.url, "-p", "plan it"])  # stdout is not a terminal
    assert r.code == 0, r.err
    assert r.out.rstrip("\n") == MARKDOWN.rstrip("\n")


def test_a_one_shot_taller_than_the_screen_is_in_the_scrollback_once(
    server: FakeServer, home: Path
) -> None:
    """300 words streamed slowly into 80x12 (a pyte screen): the newest
    rows stay in view and the scrollback ends up holding every word once."""
    server.queue(Reply(text=words(300), delay=0.005))
    screen = Screen(server.url, home, 12, 80, args=["-p", "go"])
    try:
        screen.wait(lambda: newest(screen.display) >= 100, "word 100")
        screen.ended()
        assert_once_each(screen.transcript(), 300)
    finally:
        screen.close()


def test_an_error_mid_stream_is_one_line_under_the_partial_reply(
    server: FakeServer, home: Path
) -> None:
    """The stream breaks: what came is shown once, the error line under it
    (the unfinished tail is taken off the screen before the line is written)."""
    server.queue(Reply(text=words(200), delay=0.002, fault="drop"))
    screen = Screen(server.url, home, 12, 80, args=["-p", "go"])
    try:
        screen.ended()
        text = screen.transcript()
        assert "copilot-repl: error:" in text, text
        before = text[: text.index("copilot-repl: error:")]
        seen = counts(before)
        assert seen and max(seen.values()) == 1, seen
        assert newest(before) == len(seen) - 1  # the words that came, in order, none lost
        assert newest(text[text.index("copilot-repl: error:") :]) == -1
    finally:
        screen.close()
