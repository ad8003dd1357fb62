"""Issue 25 (a user's first day, round three) in the interactive shell: a
real pseudo-terminal (pexpect), keys typed as a user types them, and what
the terminal shows checked. Timeouts are guards, not timing assertions."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pexpect
import pytest
from conftest import ROOT, run_cli
from fakeserver import FakeServer
from helpers import CTRL_D, TAB, slow
from pty_harness import GUARD, Launch, Term

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")


def test_diff_in_colour_keeps_a_space_between_removed_and_added(launch: Launch) -> None:
    """12: removed and added words ran together (``betagamma``)."""
    term = launch()
    term.line(":new a")
    term.prompt("a")
    term.line("alpha beta")
    term.expect(r"echo: alpha beta")
    term.line(":new b")
    term.prompt("b")
    term.line("alpha gamma")
    term.expect(r"echo: alpha gamma")
    term.prompt("b")
    term.line(":diff a b")
    term.expect(r"\+\+\+ b")
    term.expect(r"echo: alpha beta gamma")
    term.expect(r"alike")


def test_ctrl_d_after_a_background_reply_ended_quits_without_asking(
    launch: Launch, server: FakeServer, home: Path
) -> None:
    """11: Ctrl-D right after ``reply done`` asked "1 reply is still
    streaming" (the ended turn was still the session's until its queue moved
    on). Made to happen every time: after the reply, auto_compact asks the
    server for a summary, which it holds until the test ends; meanwhile the
    ended turn is still the session's."""
    import threading

    from fakeserver import Reply

    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        "auto_compact = 0.5\n[providers.openai]\ncontext_tokens = 600\nreply_tokens = 100\n"
    )
    held = threading.Event()
    term = launch()
    try:
        term.line("a first question")
        term.expect(r"echo: a first question")
        term.prompt("main")
        term.line(" ".join(f"word{i}" for i in range(300)))  # more than half the window
        term.expect(r"echo: word0 word1")
        term.expect(r"\d+ tokens · ")  # its figures: the reply has ended
        term.prompt("main")
        before = len(server.requests)
        server.queue(Reply(text="the answer"), Reply(text="a summary", gate=held))
        term.line("a third question &")
        term.expect(r"\[main\] reply done")
        end = time.monotonic() + GUARD
        while len(server.requests) < before + 2:  # the summary asked for, and held
            assert time.monotonic() < end, "no summary was asked for"
            term.pump(0.1)
        term.expect(r"main …queued")  # the prompt is back, its toolbar drawn: nothing else comes
        shown = len(term.raw)
        term.send(CTRL_D)
        # the prompt has taken Ctrl-D (prompt_toolkit leaves bracketed paste
        # mode as it returns); the quit is decided before the summary comes
        while "\x1b[?2004l" not in term.raw[shown:]:
            assert time.monotonic() < end + GUARD, "Ctrl-D was not taken"
            term.pump(0.1)
        held.set()
        assert term.exit_status() == 0
        assert "still streaming" not in term.plain
    finally:
        held.set()


def test_resume_without_a_name_offers_a_list_with_previews(server: FakeServer, home: Path) -> None:
    url = ["--base-url", server.url]
    assert run_cli([*url, "--session", "work", "-p", "the plan for monday"]).code == 0
    assert run_cli([*url, "-p", "what is 2+2"]).code == 0
    env = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable, ["-m", "copilot_repl", *url, "-r"], env=env, cwd=str(ROOT),
        dimensions=(30, 100), encoding="utf-8", timeout=GUARD,
    )  # fmt: skip
    term = Term(child)
    try:
        # the newest (1) next to the question
        term.expect(r"2  work .*\n.*› the plan for monday\n.*‹ echo: the plan for monday")
        term.expect(r"1  prompt-1  openai:gpt-4o-mini  2 msgs")
        term.expect(r"› what is 2\+2")
        term.expect(r"resume which")
        term.line("2")
        term.prompt("work")
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        child.close(force=True)


def test_vi_editing_mode_shows_the_mode_in_the_toolbar(launch: Launch, home: Path) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text('editing_mode = "vi"\n')
    term = launch()
    term.expect(r"-- INSERT --")
    term.send("hello wrold")
    term.send("\x1b")  # Esc: normal mode
    term.expect(r"NORMAL")
    term.send("bcwworld")  # back a word, change it
    term.expect(r"INSERT")
    term.send("\x1b")
    term.expect(r"NORMAL")  # (Esc then Enter at once would be Alt-Enter)
    term.send("\r")
    term.expect(r"echo: hello world")
    term.expect(r"INSERT")  # each new line starts in insert mode


def test_keys_typed_during_a_reply_are_not_run_later_unseen(launch: Launch) -> None:
    """7: Tab typed during a foreground reply switched sessions seconds
    later; Ctrl-D quit without asking once the queue drained; :jobs ran
    after the queued reply and reported nothing."""
    term = launch()
    term.line(":new other")
    term.prompt("other")
    term.send(TAB)
    term.prompt("main")
    term.line(slow(40, 0.03))
    term.expect(r"w5 ")
    term.send(TAB)
    term.expect(r"Tab pressed during the reply: not run")
    term.prompt("main")  # still main: no switch
    term.line(slow(30, 0.03, word="x"))
    term.expect(r"x3 ")
    term.send("queued one\r")
    term.send(":jobs\r")
    term.expect(r"main openai:\S+ › :jobs")
    term.expect(r"main .*(streaming|queued)")  # :jobs sees what is still to come
    term.expect(r"echo: queued one")
    term.prompt("main")
    term.line(slow(20, 0.03, word="y"))
    term.expect(r"y3 ")
    term.send(CTRL_D)
    term.expect(r"Ctrl-D was pressed during the reply; quit\? \[y/N\]")
    term.line("n")
    term.prompt("main")
    assert term.child.isalive()


def test_switch_shows_the_last_exchange_of_the_session_it_opens(launch: Launch) -> None:
    term = launch()
    term.line("first question")
    term.expect(r"echo: first question")
    term.line("where we left off")
    term.expect(r"echo: where we left off")
    term.line(":new other")
    term.prompt("other")
    term.line(":switch main")
    term.expect(r"3\. user\s+where we left off\s+.*4\. assistant\s+echo: where we left off")
    term.prompt("main")
    assert "first question" not in term.plain[term.plain.rindex(":switch main") :]


def test_no_color_keeps_the_markdown_layout_and_drops_the_colour(
    server: FakeServer, home: Path
) -> None:
    import re

    from fakeserver import Reply

    server.queue(Reply(text="# Plan\n\n- first step\n- second step\n\n**done**\n"))
    env = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "xterm-256color", "NO_COLOR": "1"}
    child = pexpect.spawn(
        sys.executable, ["-m", "copilot_repl", "--base-url", server.url], env=env,
        cwd=str(ROOT), dimensions=(30, 100), encoding="utf-8", timeout=GUARD,
    )  # fmt: skip
    term = Term(child)
    try:
        term.prompt("main")
        term.line("go")
        term.expect(r"• first step")  # Markdown laid out: a bullet, not "- first step"
        term.expect(r"done")
        term.prompt("main")
        sgr = re.findall(r"\x1b\[([0-9;]*)m", term.raw)
        params = {int(p) for seq in sgr for p in seq.split(";") if p}
        colours = {p for p in params if 30 <= p <= 49 or 90 <= p <= 107}
        assert not colours, sorted(colours)
        assert "**done**" not in term.plain
    finally:
        child.close(force=True)


PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


@pytest.mark.parametrize("pasted", ["'{path}'", "{escaped}", "file://{url}"])
def test_a_file_dropped_on_the_prompt_is_offered_as_an_attachment(
    launch: Launch, server: FakeServer, tmp_path: Path, pasted: str
) -> None:
    """Drag-and-drop: the terminal pastes the file's path (quoted, escaped or
    as a URL); the line becomes ``:file PATH`` and Enter attaches it."""
    from urllib.parse import quote

    from test_attachments import PNG, data_url

    picture = tmp_path / "a cat.png"
    picture.write_bytes(PNG)
    path = str(picture)
    text = pasted.format(path=path, escaped=path.replace(" ", "\\ "), url=quote(path))
    term = launch()
    term.send(PASTE_START + text + PASTE_END)
    term.expect(r":file '/[^']*png'")  # (the line may wrap anywhere)
    term.send("\r")  # the one key that accepts
    term.expect(r"attached to the next prompt: a cat\.png")
    term.line("what is it?")
    term.expect(r"echo: what is it\?")
    content = server.requests[-1]["body"]["messages"][-1]["content"]
    assert content[1] == {"type": "image_url", "image_url": {"url": data_url("image/png", PNG)}}


def test_pasted_text_that_is_not_a_lone_file_path_is_pasted_as_it_is(launch: Launch) -> None:
    term = launch()
    # short enough for one row: pytest's tmp_path under xdist is long enough
    # to wrap the echo, and the pattern reads one row
    term.send(PASTE_START + "/nonexistent/missing.png and more" + PASTE_END)
    term.send("\r")
    term.expect(r"echo: /nonexistent/missing\.png and more")
    assert ":file" not in term.plain
