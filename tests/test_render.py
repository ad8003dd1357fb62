"""Rendering replies: the block splitter (pure), the Markdown and plain streams,
and untrusted model output (escape sequences, rich markup) shown harmlessly."""

from __future__ import annotations

import io
import random
import re

import pytest
from fakeserver import ESCAPE_TEXT, markdown_deltas, split_words
from rich.console import Console
from rich.text import Text

from copilot_repl.render.blocks import BlockSplitter
from copilot_repl.render.live_region import FullScreen, has_alternate_screen, render_rows
from copilot_repl.render.markdown import markdown
from copilot_repl.render.markdown_stream import (
    MarkdownStream,
    PlainStream,
    make_console,
    stream_for,
)

SGR = re.compile(r"\x1b\[[0-9;]*m")
RAW_ESCAPES = ("\x1b[2J", "\x1b]52", "\x1b]8;", "\x07")

REPLY = (
    "# Getting started\n\n"
    "Install the package, then run it.\n"
    "It needs Python 3.11.\n\n"
    "- first step\n"
    "- second step\n\n"
    "1. one\n"
    "2. two\n\n"
    "```python\n"
    "def greet(name):\n"
    "\n"
    "    return name\n"
    "```\n\n"
    "> a quote\n\n"
    "---\n\n"
    "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    "## Loose list\n\n"
    "1. Install:\n\n"
    "   ```bash\n"
    "   pip install x\n"
    "   ```\n\n"
    "2. Run it\n\n"
    "   with a second paragraph\n\n"
    "That is all.\n"
)


def split_all(text: str, sizes: list[int]) -> tuple[list[str], str]:
    """Feed ``text`` in pieces of the given sizes (cycled); return blocks, tail."""
    sp = BlockSplitter()
    blocks, i, k = [], 0, 0
    while i < len(text):
        n = sizes[k % len(sizes)]
        block = sp.feed(text[i : i + n])
        if block:
            blocks.append(block)
        i += n
        k += 1
    return blocks, sp.tail


def render_once(text: str, console: Console) -> str:
    console.print(markdown(text))
    return written(console)


def render_streamed(text: str, console: Console, step: int) -> str:
    stream = MarkdownStream(console)
    for i in range(0, len(text), step):
        stream.feed(text[i : i + step])
    stream.finish()
    return written(console)


def written(console: Console) -> str:
    """What ``console`` wrote to its StringIO."""
    assert isinstance(console.file, io.StringIO)
    return console.file.getvalue()


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.split("\n")]


def words(text: str) -> list[str]:
    return text.split()


def terminal(width: int = 80) -> Console:
    return Console(
        file=io.StringIO(), width=width, height=30, force_terminal=True, color_system="truecolor"
    )


# --------------------------------------------------------------------------- BlockSplitter


def test_text_without_newline_stays_in_the_tail() -> None:
    sp = BlockSplitter()
    assert sp.feed("Hello") == ""
    assert sp.feed(", world") == ""
    assert sp.tail == "Hello, world"


def test_a_blank_line_ends_a_block_once_the_next_line_starts_something_new() -> None:
    sp = BlockSplitter()
    assert sp.feed("first paragraph\n") == ""
    assert sp.feed("\n") == ""  # the next line might still continue it
    assert sp.feed("second paragraph\n") == "first paragraph\n\n"
    assert sp.tail == "second paragraph\n"


def test_a_partial_line_after_a_blank_line_keeps_the_block_open() -> None:
    sp = BlockSplitter()
    assert sp.feed("para\n\nnext wo") == ""
    assert sp.tail == "para\n\nnext wo"
    assert sp.feed("rds\n") == "para\n\n"
    assert sp.tail == "next words\n"


def test_several_blocks_in_one_delta_come_out_together() -> None:
    sp = BlockSplitter()
    assert sp.feed("a\n\nb\n\nc\n\nd") == "a\n\nb\n\n"
    assert sp.tail == "c\n\nd"


@pytest.mark.parametrize("fence", ["```", "~~~", "````"])
def test_a_blank_line_inside_a_fence_does_not_end_the_block(fence: str) -> None:
    text = f"{fence}python\nx = 1\n\n\ny = 2\n```not a close\n{fence}\nafter\n"
    blocks, tail = split_all(text, [1])
    assert blocks == [f"{fence}python\nx = 1\n\n\ny = 2\n```not a close\n{fence}\n"]
    assert tail == "after\n"


def test_a_shorter_or_other_fence_does_not_close_one() -> None:
    sp = BlockSplitter()
    assert sp.feed("````\ncode\n```\n~~~\n\nstill code\n") == ""
    assert sp.feed("````\ntext\n") == "````\ncode\n```\n~~~\n\nstill code\n````\n"


def test_a_loose_list_and_an_items_indented_paragraph_stay_one_block() -> None:
    text = "1. one\n\n2. two\n\n   more about two\n\n- other\n\nafter\n"
    blocks, tail = split_all(text, [1])
    assert blocks == ["1. one\n\n2. two\n\n   more about two\n\n- other\n\n"]
    assert tail == "after\n"


def test_a_paragraph_is_not_held_back_by_a_list_after_it() -> None:
    blocks, tail = split_all("Options:\n\n- a\n- b\n\nDone.\n", [1])
    assert blocks == ["Options:\n\n", "- a\n- b\n\n"]
    assert tail == "Done.\n"


@pytest.mark.parametrize("seed", range(6))
def test_blocks_and_tail_are_the_text_however_it_is_cut(seed: int) -> None:
    rng = random.Random(seed)
    text = REPLY + "".join(markdown_deltas(300))
    sizes = [rng.randint(1, 40) for _ in range(50)]
    blocks, tail = split_all(text, sizes)
    whole, whole_tail = split_all(text, [len(text)])
    one_by_one, _ = split_all(text, [1])
    assert "".join(blocks) + tail == text
    assert tail == whole_tail
    # the same boundaries whatever the deltas (one delta may finish several)
    assert "".join(blocks) == "".join(whole)
    assert ends(blocks) <= ends(one_by_one)
    assert len(one_by_one) > 20


def ends(blocks: list[str]) -> set[int]:
    """Offsets where the blocks end."""
    out, at = set(), 0
    for block in blocks:
        at += len(block)
        out.add(at)
    return out


def test_no_block_boundary_falls_inside_a_fence() -> None:
    blocks, _ = split_all("".join(markdown_deltas(400)), [3, 1, 7])
    assert blocks
    for block in blocks:
        fences = [ln for ln in block.split("\n") if ln.strip().startswith("```")]
        assert len(fences) % 2 == 0, block


# --------------------------------------------------------------------------- MarkdownStream


def test_headings_lists_and_code_are_rendered() -> None:
    out = render_streamed(REPLY, make_console(io.StringIO(), plain=False, width=80), 5)
    assert "Getting started" in out
    assert "# Getting" not in out
    assert "• first step" in out
    assert "```" not in out
    assert "def greet(name):" in out
    assert "pip install x" in out
    assert "That is all." in out


def test_code_blocks_are_syntax_highlighted() -> None:
    out = render_streamed("```python\ndef f(x):\n    return x\n```\n", terminal(), 4)
    line = next(ln for ln in out.split("\n") if "def" in ln)
    assert SGR.search(line)
    assert SGR.sub("", line).strip().startswith("def f(x):")


@pytest.mark.parametrize("step", [1, 7, 64])
def test_a_streamed_plain_reply_shows_exactly_its_text(step: int) -> None:
    text = "".join(split_words("echo: " + " ".join(f"word{i}" for i in range(300))))
    text += "\n\nA second paragraph with more words.\n\nAnd a third one"
    out = render_streamed(text, make_console(io.StringIO(), plain=False, width=80), step)
    assert words(out) == words(text)


@pytest.mark.parametrize("step", [1, 13, 1000])
def test_streaming_looks_like_rendering_the_whole_reply_at_once(step: int) -> None:
    once = render_once(REPLY, make_console(io.StringIO(), plain=False, width=80))
    streamed = render_streamed(REPLY, make_console(io.StringIO(), plain=False, width=80), step)
    assert lines(streamed) == lines(once)


def test_terminal_output_grows_linearly_with_the_reply() -> None:
    """Finished blocks are printed once and only the tail is repainted, so
    three times the text gives about three times the output (re-rendering
    the whole reply per delta would give nine)."""

    def size(n: int) -> int:
        text = "".join(f"Paragraph number {i} has a few words.\n\n" for i in range(n))
        out = render_streamed(text, terminal(), 3)
        assert "Paragraph number 0 " in out and f"Paragraph number {n - 1} " in out
        return len(out)

    assert size(180) < 4.5 * size(60)


def test_finish_without_any_text_prints_nothing() -> None:
    console = make_console(io.StringIO(), plain=False, width=80)
    stream = MarkdownStream(console)
    stream.finish()
    assert written(console) == ""


def test_plain_stream_writes_the_text_as_it_arrives_and_ends_the_line() -> None:
    buf = io.StringIO()
    stream = PlainStream(buf)
    stream.feed("echo: ")
    assert buf.getvalue() == "echo: "
    stream.feed("**hello**")
    stream.finish()
    assert buf.getvalue() == "echo: **hello**\n"


def test_plain_stream_adds_no_second_newline() -> None:
    buf = io.StringIO()
    stream = PlainStream(buf)
    stream.feed("done\n")
    stream.finish()
    assert buf.getvalue() == "done\n"


def test_stream_for_picks_plain_or_markdown() -> None:
    console = make_console(io.StringIO(), plain=True)
    assert isinstance(stream_for(console, plain=True), PlainStream)
    assert isinstance(stream_for(console, plain=False), MarkdownStream)


def test_plain_console_writes_no_ansi_codes() -> None:
    buf = io.StringIO()
    console = make_console(buf, plain=True, width=80)
    console.print(markdown("# Title\n\n**bold** and `code`\n"))
    assert "\x1b" not in buf.getvalue()
    assert "Title" in buf.getvalue()


# --------------------------------------------------------------------------- untrusted output


def escape_deltas() -> list[str]:
    return split_words(ESCAPE_TEXT)


@pytest.mark.parametrize("step", [1, 5, 1000])
def test_escape_sequences_in_a_reply_never_reach_the_terminal_raw(step: int) -> None:
    text = "".join(escape_deltas()) + "\n\nmore \x1b]8;;http://x\x07y\x1b]8;;\x07 and \x9b2J\n"
    out = render_streamed(text, terminal(), step)
    for raw in RAW_ESCAPES:
        assert raw not in out
    assert "\x9b" not in out
    plain = SGR.sub("", out)
    assert "clear" in plain and "clipboard" in plain and "link" in plain


def test_escape_sequences_in_the_live_tail_are_removed_too() -> None:
    # no newline: the whole reply stays in the repainted tail until finish
    console = terminal()
    stream = MarkdownStream(console)
    for delta in escape_deltas():
        stream.feed(delta)
        stream._frame()  # repaint now, whatever the frame rate
    stream.finish()
    out = written(console)
    for raw in RAW_ESCAPES:
        assert raw not in out


def test_plain_stream_removes_escape_sequences() -> None:
    buf = io.StringIO()
    stream = PlainStream(buf)
    for delta in escape_deltas():
        stream.feed(delta)
    stream.finish()
    for raw in RAW_ESCAPES:
        assert raw not in buf.getvalue()
    assert "\x1b" not in buf.getvalue()
    assert "[bold red]not markup[/]" in buf.getvalue()


@pytest.mark.parametrize("streamed", [True, False])
def test_rich_markup_in_a_reply_is_shown_literally(streamed: bool) -> None:
    console = terminal()
    text = "Say [bold red]x[/] and [link=http://evil]click[/link] :smile:\n"
    out = render_streamed(text, console, 3) if streamed else render_once(text, console)
    plain = SGR.sub("", out)
    assert "[bold red]x[/]" in plain
    assert "[link=http://evil]click[/link]" in plain
    assert "\x1b]8;" not in out
    # "x" is not turned bold red: no SGR right before it
    assert not re.search(r"\x1b\[[0-9;]*m x", out)


def test_markdown_links_do_not_become_terminal_hyperlinks() -> None:
    out = render_streamed("see [the docs](http://example.com/x)\n", terminal(), 4)
    assert "\x1b]8;" not in out
    assert "http://example.com/x" in SGR.sub("", out)


# --------------------------------------------------------------------------- the live region


def screen_of(parts: list[tuple[int, str]], height: int) -> list[str]:
    """What a terminal (pyte, which cuts lines when it gets narrower) shows
    after each ``(width, output)`` in turn: its scrollback, then its screen,
    without trailing blank lines."""
    pyte = pytest.importorskip("pyte")
    screen = pyte.HistoryScreen(parts[0][0], height, history=100_000, ratio=0.5)
    screen.set_mode(pyte.modes.LNM)
    stream = pyte.Stream(screen)
    for width, out in parts:
        screen.resize(height, width)
        stream.feed(out)
    width = screen.columns
    past = ["".join(line[x].data for x in range(width)) for line in screen.history.top]
    rows = [row.rstrip() for row in past + screen.display]
    while rows and not rows[-1]:
        rows.pop()
    return rows


def stream_on_terminal(
    text: str, *, width: int, height: int, step: int, resize_at: int = -1
) -> list[tuple[int, str]]:
    """``text`` streamed ``step`` characters at a time on a terminal console,
    a frame after each piece; the console gets 20 columns narrower at piece
    ``resize_at``. Returns what was written, as (width, output) parts."""
    buf = io.StringIO()
    console = Console(file=buf, width=width, height=height, force_terminal=True)
    stream = MarkdownStream(console, reflow=False)
    parts = []
    for n, i in enumerate(range(0, len(text), step)):
        if n == resize_at:
            parts.append((console.width, buf.getvalue()))
            buf.seek(0)
            buf.truncate()
            console.width = width - 20
        stream.feed(text[i : i + step])
        stream._frame()
    stream.finish()
    return [*parts, (console.width, buf.getvalue())]


LONG = " ".join(f"word{i}" for i in range(400)) + "\n\n"


@pytest.mark.parametrize("step", [3, 17, 200])
def test_blocks_taller_than_the_screen_reach_the_scrollback_once_as_rendered_whole(
    step: int,
) -> None:
    """A paragraph and a code block taller than the region: the rows that
    leave the region are printed as they go, the rest at the block's end;
    the terminal ends up showing what rendering the whole reply shows."""
    code = "```python\n" + "".join(f"x{i} = {i}\n" for i in range(40)) + "```\n\n"
    text = REPLY + LONG + code + "The end.\n"
    parts = stream_on_terminal(text, width=60, height=12, step=step)
    assert "\x1b[2K" in parts[0][1]  # the live region was drawn (and erased)
    once = lines(render_once(text, make_console(io.StringIO(), plain=False, width=60)))
    while once and not once[-1]:
        once.pop()
    assert screen_of(parts, 12) == once


@pytest.mark.parametrize("at", [40, 300, 700])
def test_a_narrower_terminal_while_a_long_paragraph_streams_shows_each_word_once(at: int) -> None:
    """(pyte cuts the lines on its screen when it gets narrower, as xterm
    does: the ends of rows already printed and still on the screen are lost
    by the terminal; none is shown twice)"""
    parts = stream_on_terminal(LONG + "After.\n", width=80, height=12, step=5, resize_at=at)
    found = [int(w) for w in re.findall(r"\bword(\d+)\b", " ".join(screen_of(parts, 12)))]
    assert found == sorted(set(found))  # in order, none twice
    assert len(found) >= 400 - 3 * 12 and found[-1] == 399


def test_a_narrower_terminal_cuts_a_row_of_snake_case_words_after_the_words_printed() -> None:
    """After a resize the rows printed are found in the rows at the new
    width by their text without blanks nor markup marks (``_``): the first
    row left was cut there counting the ``_`` too, so too early, and the
    rows after it no longer matched: the paragraph was printed again whole."""
    text = " ".join(f"snake_word_{i}" for i in range(300)) + "\n\nAfter.\n"
    parts = stream_on_terminal(text, width=80, height=12, step=5, resize_at=700)
    shown = " ".join(screen_of(parts, 12))
    found = [int(w) for w in re.findall(r"\bsnake_word_(\d+)\b", shown)]
    assert found == sorted(set(found)), shown  # in order, none twice
    assert found[-1] == 299 and "After." in shown


def test_markup_closed_after_its_rows_left_the_region_does_not_print_them_again() -> None:
    """`**` still open when its rows are printed shows as typed there; when
    it closes, the block's end prints only what was not printed."""
    text = "Start **" + " ".join(f"word{i}" for i in range(300)) + "** end.\n\nAfter.\n"
    shown = " ".join(screen_of(stream_on_terminal(text, width=60, height=12, step=4), 12))
    found = re.findall(r"\bword\d+\b", shown)
    assert found == [f"word{i}" for i in range(300)]
    assert shown.count("Start") == 1 and "end." in shown and "After." in shown


# --------------------------------------------------------------------------- the full screen


def test_full_screen_draws_on_the_alternate_screen_and_leaves_the_normal_one_as_it_was() -> None:
    """Rows drawn on the alternate screen, the whole height theirs, a
    narrower terminal drawn at the next frame; none reaches the scrollback;
    what was printed meanwhile shows above them, then on the normal screen,
    once, when it is left."""
    pyte = pytest.importorskip("pyte")
    from screen_harness import Terminal

    buf = io.StringIO()
    console = Console(file=buf, width=40, height=8, force_terminal=True)
    screen = Terminal(40, 8)
    screen.set_mode(pyte.modes.LNM)  # a newline starts the line (a tty's ONLCR)
    stream = pyte.Stream(screen)
    console.print("before")
    region = FullScreen(console)
    region.start()
    for n in range(12):  # taller than the screen: the newest rows shown
        rows = render_rows(console, Text("\n".join(f"row{i} " * 6 for i in range(n))))
        region.show(rows)
        if n == 8:
            console.print("said meanwhile")
        if n == 10:
            stream.feed(buf.getvalue())
            buf.seek(0), buf.truncate()
            console.width = 20
            screen.resize(8, 20)
    stream.feed(buf.getvalue())
    buf.seek(0), buf.truncate()
    shown = [row.rstrip() for row in screen.display]
    assert shown[0] == "said meanwhile"  # above the rows
    assert shown[1:] == ["".join(seg.text for seg in row).rstrip() for row in rows[-7:]]
    assert shown[-1] == "row10 row10 row10", shown  # drawn at 20 columns
    region.stop()
    stream.feed(buf.getvalue())
    assert [row.rstrip() for row in screen.display][:3] == ["before", "said meanwhile", ""]
    assert not screen.history.top  # nothing scrolled off, on either screen


@pytest.mark.parametrize(
    ("term", "terminal", "has"),
    [("xterm-256color", True, True), ("tmux-256color", True, True), ("dumb", True, False),
     ("unknown", True, False), ("linux", True, False), ("xterm", False, False)],
)  # fmt: skip
def test_has_alternate_screen(term: str, terminal: bool, has: bool) -> None:
    console = Console(file=io.StringIO(), force_terminal=terminal)
    assert has_alternate_screen(console, {"TERM": term}) is has
