"""The live view, as a terminal shows it: copilot-repl in a real
pseudo-terminal, its output fed to a terminal emulator (pyte), and what the
screen and the scrollback hold is checked while replies stream: long
paragraphs, resizes, the toolbar, replies side by side.

pyte cuts lines when the terminal gets narrower, as xterm does; the shell is
told so (``XTERM_VERSION``). A terminal that re-wraps its lines instead is
checked in tmux, when tmux is installed. Timeouts are guards, not timing
assertions: the checks are on what was shown, in what order."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply

pyte = pytest.importorskip("pyte")

from helpers import CTRL_Z, TAB  # noqa: E402  (after the skip: pyte may be missing)
from screen_harness import (  # noqa: E402
    GUARD,
    ROOT,
    Screen,
    assert_once_each,
    newest,
    words,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


# ------------------------------------------- a paragraph taller than the screen; resizing


def test_a_paragraph_taller_than_the_screen_keeps_its_newest_words_in_view(
    term: Callable[[int, int], Screen], server: FakeServer
) -> None:
    """80x16, one 500-word paragraph at 20 ms a word: the screen follows the
    newest words all along (it used to stop at the first screenful until the
    end), and the scrollback holds the paragraph once (it held it twice)."""
    screen = term(16, 80)
    server.queue(Reply(text=words(500), delay=0.02))
    screen.line("go")
    seen: list[int] = []
    while "tok/s" not in screen.display:
        screen.pump(0.05)
        if "tok/s" not in screen.display:
            seen.append(newest(screen.display))
        assert len(seen) < GUARD / 0.05, "the reply did not end"
    # while it streamed, the screen showed words near the end of the paragraph
    assert max(seen) >= 400, f"the view stopped at word {max(seen)}"
    assert len(set(seen)) >= 10  # and moved on many times
    screen.prompt()
    assert_once_each(screen.transcript(), 500)


def test_resizing_while_a_paragraph_streams_does_not_show_it_twice(
    term: Callable[[int, int], Screen], server: FakeServer
) -> None:
    screen = term(16, 80)
    server.queue(Reply(text=words(400), delay=0.02))
    screen.line("go")
    screen.wait(lambda: newest(screen.display) >= 150, "word 150")
    screen.resize(16, 60)
    screen.wait(lambda: newest(screen.display) >= 250, "word 250")
    screen.resize(20, 90)
    screen.shown("tok/s")
    screen.prompt()
    assert_once_each(screen.transcript(), 400)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_in_tmux_a_narrower_window_does_not_show_the_paragraph_twice(
    server: FakeServer, home: Path
) -> None:
    """tmux re-wraps its lines when the window gets narrower (so do most
    terminals); the live region is erased as re-wrapped. (On a screen not
    full yet: tests/test_live_view_resize_tmux.py.)"""
    session = f"lv-{uuid.uuid4().hex[:8]}"
    server.queue(Reply(text=words(400), delay=0.02))
    env = f"COPILOT_REPL_HOME={home} TERM=xterm-256color"
    # (COLUMNS and LINES, if set, would fix the size rich sees)
    cmd = f"env -u COLUMNS -u LINES {env} {sys.executable} -m copilot_repl --base-url {server.url}"
    cmd += "; sleep 60"

    def tmux(*args: str) -> str:
        # a server of its own (no one else's options or clients), no config
        return subprocess.run(
            ["tmux", "-L", session, "-f", os.devnull, *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=GUARD,
        ).stdout

    def until(cond: Callable[[str], bool], what: str) -> str:
        end = time.monotonic() + GUARD
        while True:
            text = tmux("capture-pane", "-p", "-S", "-1000", "-t", session)
            if cond(text):
                return text
            if time.monotonic() > end:
                raise AssertionError(f"gave up waiting for {what}:\n{text[-2000:]}")
            time.sleep(0.1)

    tmux("new-session", "-d", "-s", session, "-x", "80", "-y", "16", "-c", str(ROOT), cmd)
    try:
        until(lambda t: "main openai:" in t, "the prompt")
        # a session in use: the screen is full, the reply streams at its bottom
        tmux("send-keys", "-t", session, ":help", "Enter")
        until(lambda t: "wait for background" in t, ":help")
        tmux("send-keys", "-t", session, "go", "Enter")
        until(lambda t: newest(t) >= 200, "word 200")
        tmux("resize-window", "-t", session, "-x", "60", "-y", "16")
        text = until(lambda t: "tok/s" in t, "the end of the reply")
    finally:
        subprocess.run(["tmux", "-L", session, "kill-server"], capture_output=True)
    # tmux re-wraps lines printed before the resize: "... p16 p1" / "7 p18"
    joined = re.sub(r"(?m)^(?=.{60}$)(.*p\d*)\n(\d+)\b", r"\1\2", text)
    assert_once_each(joined, 400)


# ----------------------------------- the toolbar, errors and switching while a reply streams


def test_the_toolbar_shows_while_a_reply_streams_and_is_not_left_behind(
    term: Callable[[int, int], Screen], server: FakeServer
) -> None:
    screen = term(16, 80)
    screen.line(":new beta")
    screen.prompt("beta")
    screen.line("#delay=0.05 " + words(200, "b") + " &")  # beta streams in the background
    screen.prompt("beta")
    screen.child.send(TAB)
    screen.prompt("main")
    server.queue(Reply(text=words(100), delay=0.05))
    screen.line("go")
    # while main's reply streams in the foreground: the toolbar, with beta's state
    screen.wait(lambda: 5 < newest(screen.display) < 90, "main's reply streaming")
    screen.shown(r"main ⟳.*beta ⟳|beta ⟳.*main ⟳")
    screen.shown("tok/s")
    screen.prompt("main")
    # no toolbar left in the scrollback, no run of blank lines
    past = screen.transcript().split("\n")[: -screen.screen.lines]
    assert not [ln for ln in past if re.fullmatch(r"\s*(main|beta)( ⟳|.{0,12}queued)?\s*", ln)]
    assert "\n\n\n\n" not in "\n".join(past)


# --------------------------------------------------------------------------- items 12, 13


def test_an_interrupted_stream_shows_the_partial_reply_then_the_error(
    term: Callable[[int, int], Screen],
) -> None:
    screen = term(24, 100)
    screen.line("#fault=drop " + words(60, "d"))
    screen.shown(r"error:")
    screen.prompt()
    text = screen.transcript()
    last_word = max(re.finditer(r"\bd\d+\b", text), key=lambda m: m.start())
    error = text.index("error:")
    assert last_word.start() < error, text[-800:]


def test_switching_into_a_streaming_session_says_whose_text_follows(
    term: Callable[[int, int], Screen],
) -> None:
    screen = term(24, 100)
    screen.line(":new beta")
    screen.prompt("beta")
    screen.line("#delay=0.05 " + words(80, "s") + " &")
    screen.prompt("beta")
    screen.child.send(TAB)
    screen.prompt("main")
    screen.wait(lambda: "beta ⟳" in screen.display, "beta streaming")
    screen.child.send(TAB)  # back into beta, while it streams
    screen.shown(r"── beta \(openai:\S+\) · streaming")
    screen.shown("tok/s")
    text = screen.transcript()
    header = text.index("── beta (")
    assert re.search(r"\bs\d+\b", text[header:])  # its text follows the header


# ------------------------------------------------------------- replies side by side, stacked


def test_ask_shows_three_columns_at_100_cols_with_figures_as_each_ends(
    term: Callable[[int, int], Screen],
) -> None:
    screen = term(24, 100)
    screen.line(":new fast")
    screen.prompt("fast")
    screen.line(":new slowpoke --model openai:slow")
    screen.prompt("slowpoke")
    screen.line(":ask fast,main,slowpoke " + words(60, "a"))
    # one row of three columns
    screen.shown(r"fast \(openai:.*main \(openai:.*slowpoke \(openai:")
    # the fast columns show their figures while slowpoke still streams
    screen.wait(
        lambda: re.search(r"\d+ tokens · TTFT", screen.display) and "streaming" in screen.display,
        "figures of a finished column next to one streaming",
    )
    screen.shown(r"slowpoke \(openai")
    screen.wait(lambda: screen.display.count("TTFT") >= 3, "three columns done")
    screen.prompt("slowpoke")
    text = screen.transcript()
    assert text.count("┃ fast (openai:") == 1  # one final table
    assert "a59" in text


def test_all_over_many_sessions_stacks_them_and_leaves_one_final_copy(
    term: Callable[[int, int], Screen],
) -> None:
    screen = term(24, 100)
    for i in range(2, 21):
        screen.line(f":new s{i:02d}")
        screen.prompt(f"s{i:02d}")
    screen.line(":all hello " + words(30, "m"))
    screen.wait(lambda: screen.display.count("TTFT") >= 1, "the replies")
    screen.prompt(r"s20")
    text = screen.transcript()
    for name in ["main", *(f"s{i:02d}" for i in range(2, 21))]:
        assert len(re.findall(rf"── {name} \(openai:", text)) == 1, name
    assert "┃" not in text  # stacked: no table at 20 columns of 5 characters


def test_view_shows_an_ask_again_after_ctrl_z(term: Callable[[int, int], Screen]) -> None:
    screen = term(24, 100)
    screen.line(":new beta --model openai:slow")
    screen.prompt("beta")
    screen.line(":ask main,beta " + words(60, "v"))
    screen.shown(r"beta \(openai:slow\)")
    screen.wait(lambda: newest(screen.display, "v") >= 5, "beta streaming")
    screen.child.send(CTRL_Z)
    screen.shown(":view shows them")
    screen.prompt("beta")
    since = len(screen.transcript())
    screen.line(":view")
    screen.wait(lambda: "┃ main (openai:" in screen.transcript()[since:], "the columns again")
    screen.prompt("beta")
    assert "v59" in screen.transcript()[since:]
