"""Issue 25, round three: text pasted before the line editor reads keys (a
reply streaming, the first frame up) is one prompt, as pasted at the prompt.
A terminal marks a paste (bracketed paste) only when the program asked it
to; without that, each line of pasted code was a prompt of its own, sent
at once (41 lines: 40 prompts queued). Real terminals: tmux's
``paste-buffer -p`` brackets only when asked, as terminals do; the first
frame's request is read from what the program writes. Timeouts are guards."""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
from pathlib import Path

import pexpect
import pytest
from fakeserver import FakeServer, Reply
from helpers import CTRL_D
from pty_harness import ROOT, Term, saved
from screen_harness import GUARD, words
from test_first_frame_pty import EDITOR_READY, first_prompt, spawn
from test_live_view_firstday import Tmux

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")

CODE = ["def pasted():", *(f"    line{i} = {i}  # pasted" for i in range(7))]
PASTE_ON = "\x1b[?2004h"


def paste(t: Tmux, text: str, tmp: Path) -> None:
    """Paste ``text`` as a terminal does (bracketed only if the program asked)."""
    buffer = tmp / "paste.txt"
    buffer.write_text(text)
    t.tmux("load-buffer", "-b", "p", str(buffer))
    t.tmux("paste-buffer", "-p", "-d", "-b", "p", "-t", t.name)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_code_pasted_while_a_reply_streams_is_one_queued_prompt(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    """80x16: 8 lines of code pasted while a reply streams, then Enter: one
    prompt queued (all 8 lines), not 8 prompts sent as the lines came."""
    server.queue(Reply(text=words(400), delay=0.05))
    t = Tmux(server.url, home, 80, 16)
    try:
        t.until(lambda s: "main openai:" in s, "the prompt")
        t.line("go")
        t.until(lambda s: re.search(r"\bp20\b", s), "the reply streaming")
        paste(t, "\n".join(CODE), tmp_path)
        t.until(lambda s: "next › " in s and "line6 = 6" in s, "the paste under the reply")
        t.tmux("send-keys", "-t", t.name, "Enter")
        t.until(lambda s: "queued" in s, "the prompt queued")
        t.tmux("send-keys", "-t", t.name, "C-c")  # the long reply stopped: the queued one runs
        t.until(lambda s: re.search(r"(?m)^main openai:gpt-4o-mini ›\s*$", s), "the prompt back")
        t.until(lambda s: "echo:" in t.scrollback(), "the pasted prompt answered")
    finally:
        t.close()
    prompts = [m["content"] for m in saved(home, "main") if m["role"] == "user"]
    assert prompts == ["go", "\n".join(CODE)]


def test_the_first_frame_asks_the_terminal_to_mark_a_paste(home: Path) -> None:
    """With the first frame, before the line editor reads keys, the terminal
    is asked to bracket a paste, so code pasted then reaches the prompt as
    one paste (here: sent while the server has not said its models yet);
    the request is withdrawn when the shell ends."""
    with FakeServer(models=["echo"], hold_models=True) as server:
        term = spawn(server, home)
        try:
            first_prompt(term)
            end = time.monotonic() + GUARD
            while EDITOR_READY not in term.raw and time.monotonic() < end:
                term.pump(0.05)
            # asked with the frame, before the line editor's first output
            assert PASTE_ON in term.raw.split(EDITOR_READY)[0], term.raw
            # what a terminal sends for a paste then, and Enter
            term.send("\x1b[200~" + "\n".join(CODE[:3]) + "\x1b[201~\r")
            server.release_models()
            term.expect("echo:")
            term.prompt("main")
            term.send(CTRL_D)
            assert term.exit_status() == 0
        finally:
            term.child.close(force=True)
    assert [m["content"] for m in saved(home, "main") if m["role"] == "user"] == [
        "\n".join(CODE[:3])
    ]
    assert term.raw.rindex("\x1b[?2004l") > term.raw.rindex(PASTE_ON)  # off at the end


def test_a_dumb_terminal_is_sent_no_request_to_mark_a_paste(server: FakeServer, home: Path) -> None:
    """TERM=dumb (no escape sequences; prompt_toolkit's simplest prompt):
    neither the read-ahead during a reply nor anything else asks it to mark
    a paste (it would show the request as text)."""
    env = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "dumb"}
    env.pop("NO_COLOR", None)
    cmd = [sys.executable, "-m", "copilot_repl", "--base-url", server.url]
    child = pexpect.spawn(cmd[0], cmd[1:], env=env, cwd=str(ROOT), encoding="utf-8", timeout=GUARD)
    term = Term(child)
    try:
        term.expect("Ctrl-D quits")
        term.expect("› ")
        term.line("hello #deltas=20 #delay=0.02")
        term.expect("tokens")
        term.expect("› ")
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        child.close(force=True)
    assert "echo: hello" in term.plain or "Section" in term.plain, term.plain
    assert PASTE_ON not in term.raw, term.raw


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
def test_a_file_dropped_while_a_reply_streams_is_offered_as_file(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    """A file dropped on the terminal while a reply streams (its path pasted,
    quoted) is ``:file PATH`` under the reply, as at the prompt; Enter
    attaches it once the reply ends."""
    notes = tmp_path / "my notes.txt"
    notes.write_text("remember the milk\n")
    server.queue(Reply(text=words(400), delay=0.05))
    t = Tmux(server.url, home, 100, 30)
    try:
        t.until(lambda s: "main openai:" in s, "the prompt")
        t.line("go")
        t.until(lambda s: re.search(r"\bp20\b", s), "the reply streaming")
        paste(t, f"'{notes}' ", tmp_path)
        # (the line under the reply shows the end of a long one)
        t.until(lambda s: "next › " in s and "my notes.txt'" in s, "the path under the reply")
        t.tmux("send-keys", "-t", t.name, "Enter")
        t.tmux("send-keys", "-t", t.name, "C-c")
        t.until(lambda s: "attach" in s, "attached")
        text = t.scrollback()
    finally:
        t.close()
    assert f"› :file '{notes}'" in text, text  # run as :file PATH once the reply ended
