"""Issue 25's drawing bugs, as a terminal shows them: copilot-repl in a real
pseudo-terminal drawn on a pyte screen (tests/screen_harness.py).
Timeouts are guards, not timing assertions."""

from __future__ import annotations

import re
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply

pyte = pytest.importorskip("pyte")

from helpers import CTRL_C  # noqa: E402  (after the skip: pyte may be missing)
from screen_harness import (  # noqa: E402
    Screen,
    Tmux,
    assert_once_each,
    counts,
    newest,
    words,
)

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


def start_ask(screen: Screen, n: int) -> None:
    """``:ask main,s2`` (s2 slow) of ``n`` words ``k``; back once main is
    done while s2 streams, the live view on the alternate screen."""
    screen.line(":new s2 --model openai:slow")
    screen.prompt("s2")
    screen.line(":ask main,s2 " + words(n, "k"))
    screen.wait(
        lambda: "TTFT" in screen.display and "streaming ·" in screen.display,
        "main done while s2 streams",
    )
    assert screen.screen.normal is not None, screen.display  # on the alternate screen


def assert_one_final_table(text: str) -> None:
    """The ``:ask`` prompt line once, then the final table once, under it."""
    assert text.count("s2 openai:slow › :ask main,s2 k0 k1") == 1, text
    assert text.count("┃ main (openai:gpt-4o-mini)") == 1, text
    assert "━┿" not in text and "streaming ·" not in text, text  # no live rows left
    assert text.index("› :ask main,s2") < text.index("┃ main (openai:"), text


def test_ask_columns_use_the_whole_screen_and_leave_the_scrollback_as_it_was(
    term: Callable[[int, int], Screen],
) -> None:
    """8: the live columns of :ask are on the alternate screen: all of its
    rows (the prompt line is not on it), and nothing of them reaches the
    scrollback, which holds the prompt line once, then the final table."""
    screen = term(16, 80)
    start_ask(screen, 200)
    rows = screen.display.splitlines()
    assert not [r for r in rows if "› :ask" in r], rows
    body = [r for r in rows if "│" in r and re.search(r"\bk\d+\b", r)]
    assert len(body) >= 10, rows  # 16 rows less the frame (4) and the toolbar
    screen.prompt("s2")
    assert screen.screen.normal is None
    assert_one_final_table(screen.transcript())


def test_ctrl_c_during_ask_leaves_the_alternate_screen_with_one_final_table(
    term: Callable[[int, int], Screen],
) -> None:
    screen = term(24, 80)
    start_ask(screen, 200)
    screen.child.send(CTRL_C)
    screen.prompt("s2")
    assert screen.screen.normal is None
    text = screen.transcript()
    assert_one_final_table(text)
    assert "interrupted" in text[text.index("┃ main (openai:") :], text
    assert counts(text, "k")["k199"] == 2, text  # the prompt and main's reply: s2 was cut short


def test_a_line_typed_during_ask_shows_on_the_alternate_screen_and_runs_after(
    term: Callable[[int, int], Screen],
) -> None:
    """What is typed while the columns stream shows under them, the notice of
    a line typed ahead above them; once they end the notice is in the
    scrollback above the final table, and the line runs after it."""
    screen = term(24, 80)
    start_ask(screen, 120)
    screen.child.send(":l")
    screen.shown(r"next › :l")
    screen.child.send("s\r")
    screen.shown(r"after this reply: :ls")
    assert screen.screen.normal is not None  # still streaming, on the alternate screen
    screen.wait(lambda: re.search(r"\* +s2", screen.display), ":ls, after the replies")
    screen.prompt("s2")
    text = screen.transcript()
    assert_one_final_table(text)
    order = ["› :ask main,s2", "after this reply: :ls", "┃ main (openai:", "› :ls"]
    at = [text.index(x) for x in order]
    assert at == sorted(at), text
    assert text.count("after this reply: :ls") == 1, text


def tall_prompt(n: int) -> str:
    """``n`` words of 8 columns each, after 6 columns of lead: behind the
    26-column prompt of main every word starts at a multiple of 8, so a
    terminal 80 wide never cuts one in two."""
    return "lead: " + " ".join(f"q{i:06d}" for i in range(n))


def assert_tall_prompt_once(screen: Screen, n: int) -> None:
    """After the reply (``the end``): the scrollback holds the prompt line
    and each of the ``n`` words of ``tall_prompt(n)`` exactly once."""
    screen.shown(r"the end")
    screen.prompt()
    text = screen.transcript()
    assert text.count("main openai:gpt-4o-mini › lead: q000000") == 1, text
    seen = re.findall(r"q\d{6}", text)
    twice = sorted({w for w in seen if seen.count(w) > 1})
    missing = [f"q{i:06d}" for i in range(n) if f"q{i:06d}" not in seen]
    assert not twice and not missing, f"twice: {twice[:5]}…, missing: {missing[:5]}…"


@pytest.mark.parametrize("rows", [16, 20, 30])
def test_a_prompt_taller_than_the_screen_is_in_the_scrollback_once(
    term: Callable[[int, int], Screen], server: FakeServer, rows: int
) -> None:
    """2: at 80xROWS a typed prompt of more rows than the screen: the
    scrollback must hold the prompt line and every word of it once."""
    screen = term(rows, 80)
    n = 10 * (rows + 4)  # ten words a row: taller than the screen
    server.queue(Reply(text="the end"))
    screen.line(tall_prompt(n))
    assert_tall_prompt_once(screen, n)


def test_a_queued_prompt_is_shown_as_typed_above_its_reply(
    term: Callable[[int, int], Screen],
) -> None:
    """6: a prompt typed while a reply streams had no prompt line above its
    reply, a ``── main · streaming`` header stayed in the scrollback, and
    ``queued for main…`` landed between the first prompt and its reply.
    5: a command typed ahead was echoed without the model."""
    screen = term(30, 100)
    screen.line("#delay=0.03 " + words(60, "a"))
    screen.wait(lambda: "a10" in screen.display, "the reply streaming")
    screen.child.send("typed meanwhile\r")
    screen.child.send(":ls\r")
    screen.wait(lambda: "echo: typed meanwhile" in screen.display, "the queued reply")
    screen.shown(r"\* +main")
    screen.prompt()
    t = screen.transcript()
    assert "── main" not in t
    assert t.count("main openai:gpt-4o-mini › typed meanwhile") == 1
    assert t.count("main openai:gpt-4o-mini › :ls") == 1
    # the line typed ahead runs first (7), then the queued reply is followed
    order = ["echo: a0", "queued for main", "› :ls", "› typed meanwhile", "echo: typed meanwhile"]
    at = [t.index(x) for x in order]
    assert at == sorted(at), t


def test_text_typed_while_a_reply_streams_shows_as_it_is_typed(
    term: Callable[[int, int], Screen],
) -> None:
    """5: keys typed during a reply were invisible until the reply ended."""
    screen = term(24, 80)
    screen.line("#delay=0.03 " + words(80, "t"))
    screen.wait(lambda: "t10" in screen.display, "the reply streaming")
    screen.child.send("what abou")
    screen.shown(r"next › what abou")
    screen.child.send("\x7fut next\r")  # Backspace works; Enter queues it
    screen.wait(lambda: "echo: what about next" in screen.display, "its reply")
    screen.prompt()
    assert screen.transcript().count("main openai:gpt-4o-mini › what about next") == 1


def test_a_prompt_typed_slowly_taller_than_the_screen_is_in_the_scrollback_once(
    term: Callable[[int, int], Screen], server: FakeServer
) -> None:
    """2, typed as a person types, from the moment the prompt shows: ten
    words at a time, each drawn before the next are typed, until the prompt
    is taller than the screen (each keystroke redraws it). Under load, the
    words typed before the line editor had the keyboard were echoed by the
    terminal too (the first frame gave the modes back early): see
    test_first_frame_pty.py."""
    rows = 30
    screen = term(rows, 80)
    n = 10 * (rows + 4)
    server.queue(Reply(text="the end"))
    typed = tall_prompt(n).split(" ")
    for start in range(0, len(typed), 10):
        chunk = typed[start : start + 10]
        screen.child.send(" ".join(chunk) + " ")
        screen.wait(lambda last=chunk[-1]: last in screen.display, f"{chunk[-1]} drawn")
    screen.child.send("\r")
    assert_tall_prompt_once(screen, n)


@pytest.mark.parametrize("size", [(40, 120), (30, 80)])
def test_a_bigger_terminal_mid_stream_does_not_show_printed_rows_again(
    term: Callable[[int, int], Screen], server: FakeServer, size: tuple[int, int]
) -> None:
    """8: 80x16, a 500-word paragraph streaming; the window made bigger:
    the live region (more room now) showed the paragraph from its first
    word again, under the rows already printed into the scrollback (~115
    words twice on screen until the reply ended)."""
    screen = term(16, 80)
    server.queue(Reply(text=words(500), delay=0.02))
    screen.line("go")
    screen.wait(lambda: newest(screen.display) >= 250, "word 250")
    screen.resize(*size)
    screen.wait(lambda: newest(screen.display) >= 330, "word 330 at the new size")
    seen = counts(screen.transcript())
    assert [w for w, c in seen.items() if c > 1] == []
    screen.shown("tok/s")
    screen.prompt()
    assert_once_each(screen.transcript(), 500)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_ask_columns_in_a_short_pane_use_the_height_they_have(
    server: FakeServer, home: Path
) -> None:
    """4: at 80x16 in tmux the live columns of :ask showed 2-3 rows of each
    reply (the live region kept to half the screen)."""
    t = Tmux(server.url, home, 80, 16)
    try:
        t.until(lambda s: "main openai:" in s, "the prompt")
        t.line(":new s2 --model openai:slow")
        t.until(lambda s: "s2 openai:slow ›" in s, "s2")
        t.line(":ask main,s2 " + words(200, "c"))
        # main is done (its figures in its footer) while s2 still streams
        text = t.until(
            lambda s: "TTFT" in s and "streaming" in s and newest(s, "c") >= 100,
            "main done, s2 streaming",
        )
        rows = [r for r in text.splitlines() if "│" in r and re.search(r"\bc\d+\b", r)]
        assert len(rows) >= 9, text  # the pane's 16 rows less the frame, toolbar and prompt
        t.until(lambda s: "⟳" not in s and "streaming" not in s, "the end")
    finally:
        t.close()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_ask_in_tmux_made_narrower_mid_stream_leaves_one_final_copy(
    server: FakeServer, home: Path
) -> None:
    """8: at 100x30 in tmux (which re-wraps its lines), :ask to three
    sessions, side by side; the window made 60 wide while s3 streams: the
    live columns' rows were re-wrapped taller than the screen and their top
    rows pushed into the scrollback, where they could not be erased (a
    partial table above the final one). The live view is on the alternate
    screen: the scrollback holds the prompt line once, then the final copy
    (stacked at 60 columns), each reply once."""
    t = Tmux(server.url, home, 100, 30)
    try:
        t.until(lambda s: "main openai:" in s, "the prompt")
        t.line(":new s2")
        t.until(lambda s: "s2 openai:" in s, "s2")
        t.line(":new s3 --model openai:slow")
        t.until(lambda s: "s3 openai:slow ›" in s, "s3")
        t.line(":ask main,s2,s3 " + words(150, "g"))
        # side by side, main done while s3 streams
        t.until(
            lambda s: "━┿" in s and "TTFT" in s and "streaming ·" in s,
            "three columns, s3 streaming",
        )
        t.tmux("resize-window", "-t", t.name, "-x", "60", "-y", "30")
        # redrawn at 60 columns (stacked) while s3 still streams
        t.until(lambda s: "── s3 (openai:slow) · streaming" in s, "stacked at 60 columns")
        t.until(
            lambda s: re.search(r"(?m)^s3 openai:slow ›$", s) and "streaming" not in s, "the end"
        )
        text = t.scrollback()
    finally:
        t.close()
    assert text.count("s3 openai:slow › :ask main,s2,s3 g0 g1") == 1, text
    for name in ("main (openai:gpt-4o-mini)", "s2 (openai:gpt-4o-mini)", "s3 (openai:slow)"):
        assert text.count(f"── {name} · ") == 1, text  # its header, once
        assert text.count(name) == 1 + (name != "main (openai:gpt-4o-mini)"), text  # + "created"
    assert not re.search("[┃│━┿]", text), text  # no rows of the live columns left
    # each word: in the prompt line, then in each of the three replies
    seen = counts(text, "g")
    assert {w: c for w, c in seen.items() if c != 4} == {}, text
    assert len(seen) == 150
    prompt = text.index("s3 openai:slow › :ask")
    assert prompt < text.index("── main (openai:"), text
