"""The shell with pipe input and the loopback server: prompts typed into
a busy session are queued, echoed, in the toolbar and :jobs, cancellable;
:all with a busy session; Ctrl-C/Ctrl-Z at :wait; a background reply of the
current session; :edit, Ctrl-X Ctrl-E, :copy, :export's question; the
start-up line; --plain without colour."""

from __future__ import annotations

import asyncio
import base64
import io
import re
import sys
from pathlib import Path

import pytest
from fakeserver import FakeServer
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output
from shell_harness import (
    GUARD,
    SHIFT_TAB,
    TAB,
    Harness,
    make_client,
    saved_messages,
    slow,
    until,
)

from copilot_repl.render.markdown_stream import make_console
from copilot_repl.repl.controller import Repl
from copilot_repl.shell.loop import Shell, run_shell
from copilot_repl.shell.terminal import TerminalOutput

CTRL_X_CTRL_E = "\x18\x05"


def contents(home: Path, name: str) -> list[str]:
    return [str(m["content"]) for m in saved_messages(home, name)]


def started(h: Harness, name: str = "main") -> bool:
    session = h.repl.client.opened(name)
    return session is not None and session.turn is not None and session.turn.chars > 0


# --------------------------------------------------------------------------- queueing


async def test_a_prompt_typed_while_a_reply_streams_is_queued_and_shown_next(
    shell: Harness, server: FakeServer
) -> None:
    shell.send(slow(40, word="a") + "\r")
    await until(shell.streaming, "the first reply streaming")
    shell.send("second question\r")
    await until(lambda: "main ⟳ +1 queued" in shell.toolbar(), "shown queued")
    # said once the reply shown has ended, not between it and its prompt
    await until(lambda: "queued for main, #1 in line: second question" in shell.text, "echo")
    await until(lambda: "echo: second question" in shell.text, "the second reply, shown")
    await shell.at_prompt()
    assert contents(shell.home, "main") == [
        slow(40, word="a"),
        "echo: " + " ".join(f"a{i}" for i in range(40)),
        "second question",
        "echo: second question",
    ]
    assert shell.text.count("a39") == 1  # each reply once
    assert "[main] reply done" not in shell.text  # both were watched
    assert "+1 queued" not in shell.toolbar()


async def test_a_command_typed_while_a_reply_streams_runs_after_it(shell: Harness) -> None:
    shell.send(slow(30, word="c") + "\r")
    await until(shell.streaming, "streaming")
    shell.send(":new later\r")
    await until(lambda: "after this reply: :new later" in shell.text, "echo")
    assert shell.current == "main"
    await until(lambda: shell.current == "later", "then the command runs")
    assert shell.text.index("c29") < shell.text.index("created later")


async def test_a_prompt_for_a_session_answering_in_the_background_waits_then_both_show(
    shell: Harness,
) -> None:
    await shell.line(slow(30, word="b") + " &", lambda: shell.turns() == 1, "in the background")
    await until(lambda: started(shell), "the first reply streaming")
    shell.send("and then this\r")
    await until(lambda: "queued for main, #1 in line: and then this" in shell.text, "echo")
    await until(lambda: "echo: and then this" in shell.text, "its reply")
    await shell.at_prompt()
    assert shell.text.count("b29") == 1  # the reply ahead was shown live, once
    assert contents(shell.home, "main")[2:] == ["and then this", "echo: and then this"]


async def test_cancel_queued_drops_what_waits_and_jobs_lists_it(
    shell: Harness, server: FakeServer
) -> None:
    await shell.line(slow(80, word="j") + " &", lambda: shell.turns() == 1, "first")
    await until(lambda: started(shell), "streaming")
    await shell.line("never sent &", lambda: shell.turns() == 2, "queued behind it")
    await shell.line(":jobs", lambda: "queued #1" in shell.text, ":jobs")
    rows = [ln.split() for ln in shell.text.splitlines() if ln.startswith("main ")]
    assert [r[2] for r in rows] == ["streaming", "queued"]
    assert rows[0][5].startswith("~")  # "1.2 s ~12": an estimate, marked as one
    await shell.line(":cancel main --queued", lambda: "dropped" in shell.text, ":cancel")
    assert "dropped 1 queued prompt of main" in shell.text
    assert started(shell)  # the reply streaming goes on
    await until(lambda: shell.turns() == 0, "the reply to end")
    assert contents(shell.home, "main")[-1].endswith("j79")
    assert all("never sent" not in str(r["body"]) for r in server.requests)


async def test_cancel_stops_the_reply_and_says_what_still_runs(shell: Harness) -> None:
    await shell.line(slow(80, word="k") + " &", lambda: shell.turns() == 1, "first")
    await until(lambda: started(shell), "streaming")
    await shell.line("after it &", lambda: shell.turns() == 2, "queued")
    await shell.line(":cancel", lambda: "cancelled the reply" in shell.text, ":cancel")
    assert "1 queued prompt still to run (:cancel main --queued drops them)" in shell.text
    await until(lambda: contents(shell.home, "main")[-1] == "echo: after it", "the queued one")


async def test_all_with_a_busy_session_queues_for_it(shell: Harness) -> None:
    await shell.line(":new beta", lambda: shell.current == "beta", ":new")
    await shell.line(":s main", lambda: shell.current == "main", ":s")
    await shell.line(slow(20) + " &", lambda: shell.turns() == 1, "main busy")
    await shell.line(":all together", lambda: shell.text.count("TTFT") >= 2, ":all")
    assert "error" not in shell.text
    assert contents(shell.home, "main")[-2:] == ["together", "echo: together"]
    assert contents(shell.home, "beta") == ["together", "echo: together"]


# --------------------------------------------------------------------------- :wait, background


async def test_a_background_reply_of_the_current_session_is_shown_when_done(
    shell: Harness,
) -> None:
    await shell.line(slow(12, word="bg") + " &", lambda: shell.turns() == 1, "the turn")
    await until(lambda: "bg11" in shell.text, "the reply shown without switching")
    assert "●new" not in shell.toolbar()


async def test_a_cancelled_reply_is_not_announced_as_new(shell: Harness) -> None:
    await shell.line(":new beta", lambda: shell.current == "beta", ":new")
    await shell.line(slow(100, word="x") + " &", lambda: shell.turns() == 1, "the turn")
    await until(lambda: started(shell, "beta"), "streaming")
    await shell.line(":cancel", lambda: shell.turns() == 0, ":cancel")
    shell.send(TAB)
    await until(lambda: shell.current == "main", "Tab")
    await shell.at_prompt()
    shell.send(SHIFT_TAB)
    await until(lambda: shell.current == "beta", "Shift-Tab")
    await shell.at_prompt()
    assert "new reply" not in shell.text and "●new" not in shell.toolbar()


# --------------------------------------------------------------------------- the terminal


@pytest.fixture
def editor(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """$EDITOR: a program that appends a line to the file it is given."""
    script = tmp_path / "ed.py"
    script.write_text(
        "import sys\nwith open(sys.argv[1], 'a') as f:\n    f.write(' written in the editor\\n')\n"
    )
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    monkeypatch.delenv("VISUAL", raising=False)
    return script


async def test_edit_sends_what_the_editor_saved(shell: Harness, editor: Path) -> None:
    await shell.line(":edit start", lambda: "echo: start written" in shell.text, ":edit")
    assert contents(shell.home, "main") == [
        "start written in the editor",
        "echo: start written in the editor",
    ]


async def test_ctrl_x_ctrl_e_edits_the_line_then_sends_it(shell: Harness, editor: Path) -> None:
    shell.send("typed")
    await shell.typed("typed")
    shell.send(CTRL_X_CTRL_E)
    await until(lambda: len(saved_messages(shell.home, "main")) == 2, "the reply")
    assert contents(shell.home, "main")[0] == "typed written in the editor"


@pytest.mark.parametrize("shell", ["terminal"], indirect=True)
async def test_copy_sends_osc52_and_writes_the_file(shell: Harness) -> None:
    await shell.line("clip me", lambda: " tokens · " in shell.text, "the reply")
    await shell.line(":copy", lambda: "copied the last reply" in shell.text, ":copy")
    payload = base64.b64encode(b"echo: clip me").decode()
    assert f"\x1b]52;c;{payload}\x07" in shell.text
    assert (shell.home / "clipboard.txt").read_text() == "echo: clip me"


async def test_export_asks_before_overwriting(shell: Harness, tmp_path: Path) -> None:
    target = tmp_path / "t.md"
    target.write_text("precious")
    await shell.at_prompt()
    shell.send(f":export {target}\r")
    await until(shell.asking, "the question")
    shell.send("n\r")
    await until(lambda: "not exported" in shell.text, "no")
    assert target.read_text() == "precious"
    await shell.at_prompt()
    shell.send(f":export {target}\r")
    await until(shell.asking, "the question")
    shell.send("y\r")
    await until(lambda: "exported main" in shell.text, "yes")
    assert target.read_text().startswith("# main")


async def test_start_up_says_how_to_get_help_and_where_the_session_left_off(
    server: FakeServer, home: Path
) -> None:
    async def run(keys: str) -> str:
        buf = io.StringIO()
        with create_pipe_input() as inp:
            task = asyncio.ensure_future(
                run_shell(make_client(server, home), None, plain=True, input=inp, file=buf)
            )
            await asyncio.sleep(0.2)
            inp.send_text(keys)
            assert await asyncio.wait_for(task, GUARD) == 0
        return buf.getvalue()

    first = await run("what is up\r:quit\r")
    assert first.splitlines()[0].endswith(":help lists commands · Ctrl-D quits")
    again = await run(":quit\r")
    assert again.splitlines()[1:4] == [
        "main (openai:gpt-4o-mini): 2 messages",
        "  you: what is up",
        "  main: echo: what is up",
    ]


COLOUR = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7]|4[0-9]|10[0-7])[;m]")


@pytest.mark.parametrize("plain", [True, False])
async def test_plain_draws_the_prompt_and_toolbar_without_colour(
    server: FakeServer, home: Path, plain: bool
) -> None:
    client = make_client(server, home)
    drawn = io.StringIO()
    out = TerminalOutput(make_console(io.StringIO(), plain=plain), plain=plain)
    repl = Repl(client, out)
    await client.start()
    await repl.open_initial(None)
    screen = Vt100_Output(drawn, lambda: Size(rows=24, columns=80), term="xterm-256color")
    with create_pipe_input() as inp:
        sh = Shell(repl, out, input=inp, output=screen, plain=plain)
        task = asyncio.ensure_future(sh.run())
        try:
            # a frame is written whole: prompt and toolbar at once
            await until(lambda: "main" in drawn.getvalue() and "›" in drawn.getvalue(), "drawn")
        finally:
            task.cancel()
            await asyncio.wait([task], timeout=GUARD)
            await repl.close()
    assert bool(COLOUR.search(drawn.getvalue())) is not plain


async def test_toolbar_and_tab_follow_natural_order(shell: Harness) -> None:
    for name in ("sess-10", "sess-2"):
        await shell.line(f":new {name}", lambda n=name: shell.current == n, ":new")  # type: ignore[misc]
    assert shell.toolbar().index("sess-2") < shell.toolbar().index("sess-10")
    shell.send(TAB)  # from sess-2 the next is sess-10, not main
    await until(lambda: shell.current == "sess-10", "Tab")


async def test_a_prompt_about_to_start_is_not_counted_twice(shell: Harness) -> None:
    """The toolbar said ``main …2 queued`` for a lone prompt sent to an idle
    session, until its reply began (seen in the first frame of the reply):
    the prompt was counted as the session's waiting turn and once more as
    queued behind it."""
    session = shell.repl.session
    assert session is not None
    turn = await session.submit("hello")
    assert session.turn is None and session.pending == [turn]  # not begun yet
    assert shell.toolbar().strip() == "main …queued"
    await turn.wait()
