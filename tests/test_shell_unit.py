"""The interactive shell driven in-process: prompt_toolkit reads keys from a
pipe, renders to a dummy output, replies are printed by rich into a string;
the model is the loopback test server. Ctrl-C and Ctrl-Z arrive as real
signals (the shell installs loop signal handlers)."""

from __future__ import annotations

import asyncio
import io
import os
import re
import signal
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from shell_harness import (
    CTRL_C,
    CTRL_D,
    CTRL_Z,
    ESC_ENTER,
    GUARD,
    SHIFT_TAB,
    TAB,
    UP,
    Harness,
    make_client,
    saved_messages,
    slow,
    until,
)

from copilot_repl.shell.loop import run_shell
from copilot_repl.shell.tty import hold_no_echo, no_echo

SGR = re.compile(r"\x1b\[[0-9;]*m")

# --------------------------------------------------------------------------- basics


async def test_new_session_then_a_prompt_streams_the_reply(shell: Harness) -> None:
    assert shell.current == "main"
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    assert "created beta" in shell.text
    await shell.line("hello there", lambda: "echo: hello there" in shell.text, "the reply")
    msgs = saved_messages(shell.home, "beta")
    assert [(m["role"], m["content"], m.get("status")) for m in msgs] == [
        ("user", "hello there", None),
        ("assistant", "echo: hello there", "done"),
    ]
    assert "tokens" in shell.text  # the stats line after the reply


async def test_the_prompt_shows_the_current_session_and_model(shell: Harness) -> None:
    message = "".join(t for _, t in shell.shell._message())
    assert message.startswith("main openai:")
    await shell.line(":new beta", lambda: shell.current == "beta", ":new")
    assert "".join(t for _, t in shell.shell._message()).startswith("beta ")


async def test_tab_and_shift_tab_on_an_empty_line_switch_sessions(shell: Harness) -> None:
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    await shell.line(":new gamma", lambda: shell.current == "gamma", ":new gamma")
    # sessions in name order: beta, gamma, main (and round again)
    for key, expected in [
        (TAB, "main"),
        (TAB, "beta"),
        (TAB, "gamma"),
        (SHIFT_TAB, "beta"),
        (SHIFT_TAB, "main"),
        (SHIFT_TAB, "gamma"),
    ]:
        await shell.at_prompt()
        shell.send(key)
        await until(lambda e=expected: shell.current == e, f"switch to {expected}")  # type: ignore[misc]
    assert shell.repl.client.store.current() == "gamma"
    assert not shell.repl.failed


async def test_tab_with_text_completes_instead_of_switching(shell: Harness) -> None:
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    await shell.line(":switch main", lambda: shell.current == "main", ":switch main")
    shell.send(":switch be")
    await shell.typed(":switch be")
    shell.send(TAB)
    await shell.typed(":switch beta")
    assert shell.current == "main"
    shell.send("\r")
    await until(lambda: shell.current == "beta", "switch by completed name")


async def test_tab_completes_a_command_name(shell: Harness) -> None:
    shell.send(":hist")
    await shell.typed(":hist")
    shell.send(TAB)
    await shell.typed(":history")


async def test_ctrl_c_at_the_prompt_clears_the_line(shell: Harness, server: FakeServer) -> None:
    shell.send("half-typed garbage")
    await shell.typed("half-typed garbage")
    shell.send(CTRL_C)
    await shell.typed("")
    await shell.line(":ls", lambda: "main" in shell.text, ":ls")
    assert server.requests == []
    assert "garbage" not in shell.text
    assert not shell.task.done()


async def test_ctrl_z_at_the_prompt_does_nothing(shell: Harness) -> None:
    shell.send(CTRL_Z + ":new beta")
    await shell.typed(":new beta")  # no ^Z character in the line
    shell.send("\r")
    await until(lambda: shell.current == "beta", ":new beta")


async def test_up_arrow_recalls_the_previous_input(shell: Harness) -> None:
    await shell.line("first question", lambda: "echo: first question" in shell.text, "reply")
    shell.send(UP)
    await shell.typed("first question")
    shell.send("\r")
    await until(lambda: shell.text.count("echo: first question") == 2, "second reply")
    history = (shell.home / "input_history").read_text()
    assert "first question" in history


async def test_esc_enter_makes_a_multi_line_prompt(shell: Harness) -> None:
    shell.send("line one" + ESC_ENTER + "line two")
    await shell.typed("line one\nline two")
    shell.send("\r")
    await until(lambda: len(saved_messages(shell.home, "main")) == 2, "the reply")
    assert saved_messages(shell.home, "main")[0]["content"] == "line one\nline two"


async def test_an_unknown_command_is_reported_and_the_shell_goes_on(shell: Harness) -> None:
    await shell.line(":swich beta", lambda: "unknown command" in shell.text, "the error")
    assert ":switch" in shell.text  # the nearest command is suggested
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")


async def test_quit_command_ends_the_shell(shell: Harness) -> None:
    shell.send(":quit\r")
    assert await asyncio.wait_for(shell.task, GUARD) == 0


async def test_ctrl_d_ends_the_shell(shell: Harness) -> None:
    shell.send(CTRL_D)
    assert await asyncio.wait_for(shell.task, GUARD) == 0


async def test_run_shell_opens_the_last_session_and_quits(server: FakeServer, home: Path) -> None:
    async def run(keys: list[str], buf: io.StringIO) -> int:
        with create_pipe_input() as inp:
            task = asyncio.ensure_future(
                run_shell(
                    make_client(server, home),
                    None,
                    plain=True,
                    input=inp,
                    output=DummyOutput(),
                    file=buf,
                )
            )
            for key in keys:
                await asyncio.sleep(0)
                inp.send_text(key)
            return await asyncio.wait_for(task, GUARD)

    first = io.StringIO()
    assert await run([":new beta\r", "hi\r", ":quit\r"], first) == 0
    assert "echo: hi" in first.getvalue()
    assert "\x1b" not in first.getvalue()  # --plain: no escape codes at all
    second = io.StringIO()
    assert await run([":history\r", CTRL_D], second) == 0
    out = second.getvalue()
    assert "hi" in out and "echo: hi" in out


# --------------------------------------------------------------------------- Ctrl-C / Ctrl-Z


async def test_sigint_cancels_a_streaming_reply_and_keeps_the_partial(shell: Harness) -> None:
    shell.send(slow(200) + "\r")
    await until(shell.streaming, "streaming")
    os.kill(os.getpid(), signal.SIGINT)
    await shell.at_prompt()
    [user, reply] = saved_messages(shell.home, "main")
    assert reply["status"] == "interrupted"
    content = str(reply["content"])
    assert content.startswith("echo:") and "w199" not in content
    assert "interrupted" in shell.text
    assert shell.turns() == 0
    # the shell goes on
    await shell.line("again", lambda: "echo: again" in shell.text, "next reply")


async def test_sigtstp_sends_a_streaming_reply_to_the_background(shell: Harness) -> None:
    shell.send(slow(12, word="z") + "\r")
    await until(shell.streaming, "streaming")
    os.kill(os.getpid(), signal.SIGTSTP)
    await shell.at_prompt()
    assert "continues in the background" in shell.text
    assert shell.turns() == 1
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    await shell.line("meanwhile", lambda: "echo: meanwhile" in shell.text, "beta's reply")
    await until(lambda: "[main] reply done" in shell.text, "the notice")
    assert "z11" not in shell.text  # the reply never printed into beta's transcript
    shell.send(TAB)
    await until(lambda: shell.current == "main" and "z11" in shell.text, "the finished reply")
    assert "main · new reply" in shell.text
    [_, reply] = saved_messages(shell.home, "main")
    assert reply["status"] == "done" and str(reply["content"]).endswith("z11")


async def test_sigint_at_a_command_that_waits_cancels_the_wait_not_the_reply(
    shell: Harness,
) -> None:
    await shell.line(slow(60) + " &", lambda: shell.turns() == 1, "background reply")
    shell.send(":wait\r")
    await until(shell.line_waiting, ":wait waiting")
    os.kill(os.getpid(), signal.SIGINT)
    await shell.at_prompt()
    assert "stopped waiting; main is still streaming" in shell.text
    assert "cancelled" not in shell.text  # it said so, and cancelled nothing
    assert shell.turns() == 1  # the reply itself goes on


async def test_sigtstp_at_a_wait_gives_the_prompt_back(shell: Harness) -> None:
    await shell.line(slow(60) + " &", lambda: shell.turns() == 1, "background reply")
    shell.send(":wait\r")
    await until(shell.line_waiting, ":wait waiting")
    os.kill(os.getpid(), signal.SIGTSTP)
    await shell.at_prompt()
    assert "stopped waiting; main continues in the background" in shell.text
    assert shell.turns() == 1


async def test_cancelling_the_shell_task_while_a_reply_streams_ends_it(shell: Harness) -> None:
    shell.send(slow(100) + "\r")
    await until(shell.streaming, "streaming")
    shell.task.cancel()
    done, _ = await asyncio.wait([shell.task], timeout=GUARD)
    assert done and shell.task.cancelled()


# --------------------------------------------------------------------------- background


async def test_a_prompt_ending_in_ampersand_returns_at_once(shell: Harness) -> None:
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    await shell.line(":switch main", lambda: shell.current == "main", ":switch")
    await shell.line(slow(12, word="bg") + " &", lambda: shell.turns() == 1, "the turn")
    assert shell.prompt_up() and shell.turns() == 1
    assert "main ⟳" in shell.toolbar()
    shell.send(TAB)
    await until(lambda: shell.current == "beta", "Tab while main streams")
    await shell.line("in beta", lambda: "echo: in beta" in shell.text, "beta's reply")
    await until(lambda: "[main] reply done" in shell.text, "the notice")
    assert "bg11" not in shell.text
    assert "main ●new" in shell.toolbar()
    shell.send(SHIFT_TAB)
    await until(lambda: "bg11" in shell.text, "the finished reply shown")
    await shell.at_prompt()
    assert shell.current == "main"
    assert "●new" not in shell.toolbar()


async def test_switching_to_a_streaming_session_follows_it_live(shell: Harness) -> None:
    await shell.line(slow(12, word="live") + " &", lambda: shell.turns() == 1, "the turn")
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    assert "live0" not in shell.text
    shell.send(":switch main\r")
    await until(lambda: shell.shell.busy is not None, "following main")
    await until(lambda: "live11" in shell.text, "the whole reply")
    await shell.at_prompt()
    assert shell.text.count("live11") == 1
    assert "live0 live1" in shell.text  # what had arrived before the switch too
    # watched to the end in the foreground: no "done" notice, nothing unread
    assert "[main] reply done" not in shell.text
    main = shell.repl.client.opened("main")
    assert main is not None and main.state == "idle"


@pytest.mark.parametrize("shell", ["plain"], indirect=True)
async def test_plain_mode_keeps_a_notice_off_the_line_of_a_streaming_reply(
    shell: Harness,
) -> None:
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    # main's reply ends while beta's streams, in the middle of its line
    await shell.line(":send main " + slow(6), lambda: shell.turns() == 1, ":send")
    shell.send(slow(16) + "\r")
    await until(lambda: "w15" in shell.text, "beta's reply")
    await shell.at_prompt()
    notice = [ln for ln in shell.text.splitlines() if "[main] reply done" in ln]
    assert len(notice) == 1 and notice[0].startswith("[main] reply done")
    reply = shell.text[shell.text.index("echo: w0") :].splitlines()
    words = " ".join(ln for ln in reply if not ln.startswith("[main]")).split()
    assert [w for w in words if w.startswith("w")][:16] == [f"w{i}" for i in range(16)]
    assert "\x1b" not in shell.text


async def test_a_failed_background_reply_shows_in_the_toolbar(shell: Harness) -> None:
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    await shell.line(":send main #status=400 boom", lambda: "sent to main" in shell.text, ":send")
    await until(lambda: "main ✗failed" in shell.toolbar(), "failed state")
    assert "scripted failure 400" in shell.text


async def test_ctrl_d_while_a_reply_streams_asks_first(shell: Harness) -> None:
    await shell.line(slow(200) + " &", lambda: shell.turns() == 1, "the turn")
    await until(lambda: shell.repl.turns()[0].chars > 0, "the reply's first words")
    shell.send(CTRL_D)
    await until(
        lambda: (
            shell.shell.busy is None
            and not shell.shell.session.app.is_running
            and shell.repl.quitting
        ),
        "the question",
    )
    shell.send("n\r")
    await until(lambda: not shell.repl.quitting, "the answer")
    await shell.at_prompt()
    assert not shell.task.done() and shell.turns() == 1
    shell.send(":quit\r")
    await until(shell.asking, "the question")
    shell.send("y\r")
    assert await asyncio.wait_for(shell.task, GUARD) == 0
    await shell.repl.close()
    [_, reply] = saved_messages(shell.home, "main")
    assert reply["status"] == "interrupted"


# --------------------------------------------------------------------------- one prompt, many


async def test_ask_shows_the_replies_side_by_side(shell: Harness) -> None:
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    await shell.line(
        ":ask beta,main #delay=0.01 side by side",
        lambda: shell.turns() == 0 and shell.text.count("TTFT") == 2,
        ":ask",
    )
    header = next(ln for ln in shell.text.splitlines() if "┃ beta (openai:" in ln)
    assert "main (openai:" in header  # one row: two columns next to each other
    body = next(ln for ln in shell.text.splitlines() if "echo: side by side" in ln)
    assert body.count("echo: side by side") == 2
    for name in ("beta", "main"):
        assert saved_messages(shell.home, name)[-1]["content"] == "echo: side by side"


@pytest.mark.parametrize("shell", ["terminal"], indirect=True)
@pytest.mark.parametrize(("term", "alternate"), [("xterm-256color", True), ("dumb", False)])
async def test_ask_streams_on_the_alternate_screen_of_a_terminal_that_has_one(
    shell: Harness, monkeypatch: pytest.MonkeyPatch, term: str, alternate: bool
) -> None:
    """The live columns on the alternate screen, then the final table on the
    normal one; a dumb terminal: both where the output goes, as before."""
    monkeypatch.setenv("TERM", term)
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    await shell.line(
        ":ask beta,main #delay=0.01 side by side",
        lambda: shell.turns() == 0 and "┃ beta (openai:" in SGR.sub("", shell.text),
        ":ask",
    )
    out = SGR.sub("", shell.text)  # colours off: the text and the controls
    assert out.count("\x1b[?1049h") == out.count("\x1b[?1049l") == int(alternate)
    if alternate:  # the live rows there, the final table once back
        live, final = out.split("\x1b[?1049l")
        assert "┃ beta (openai:" not in live and "━┿" in live
        assert "━┿" not in final and final.count("┃ beta (openai:") == 1


async def test_an_error_in_one_column_leaves_the_others(shell: Harness, server: FakeServer) -> None:
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    await shell.line(":new gamma", lambda: shell.current == "gamma", ":new gamma")
    server.queue(Reply(status=400, message="no such luck"), Reply(text="fine"), Reply(text="fine"))
    await shell.line(":all hi", lambda: shell.turns() == 0 and "TTFT" in shell.text, ":all")
    cells = [ln for ln in shell.text.splitlines() if "│" in ln]  # three columns: it may wrap
    assert sum("error: " in c for c in cells) == 1 and any("no such luck" in c for c in cells)
    assert sum(ln.count("│ fine") for ln in shell.text.splitlines()) == 2
    # every column starts right under its header: no empty first line
    lines = shell.text.splitlines()
    for i, ln in enumerate(lines):
        if ln.startswith("┡"):
            cells = lines[i + 1].split("│")[1:-1]
            assert all(c.strip() for c in cells), lines[i + 1]
    last = sorted(str(saved_messages(shell.home, n)[-1]["role"]) for n in ("beta", "gamma", "main"))
    assert last == ["assistant", "assistant", "user"]  # the failed one has no reply


async def test_sigtstp_sends_all_of_a_fanout_to_the_background(shell: Harness) -> None:
    await shell.line(":new beta", lambda: shell.current == "beta", ":new beta")
    shell.send(":all " + slow(12) + "\r")
    await until(
        lambda: (
            shell.shell.busy is not None
            and shell.turns() == 2
            and all(j.chars for j in shell.repl.turns())
        ),
        "streaming",
    )
    os.kill(os.getpid(), signal.SIGTSTP)
    await shell.at_prompt()
    assert "continue in the background" in shell.text
    assert shell.turns() == 2
    await until(lambda: shell.text.count("reply done") == 2, "two notices")


# --------------------------------------------------------------------------- untrusted output


@pytest.mark.parametrize("shell", ["terminal"], indirect=True)
async def test_escape_sequences_in_a_reply_do_not_reach_the_terminal(shell: Harness) -> None:
    await shell.line("#fault=escape hi", lambda: " tokens · " in shell.text, "the reply")
    out = shell.text
    for raw in ("\x1b[2J", "\x1b]52", "\x1b]8;", "\x07"):
        assert raw not in out
    assert "[boldred]notmarkup[/]" in "".join(out.split())  # literally, maybe wrapped
    await shell.line(":history", lambda: shell.text.count("clipboard") >= 2, ":history")
    for raw in ("\x1b[2J", "\x1b]52", "\x1b]8;", "\x07"):
        assert raw not in shell.text


# --------------------------------------------------------------------------- the terminal


def test_no_echo_leaves_what_is_not_a_terminal_alone() -> None:
    r, w = os.pipe()
    os.close(w)
    with os.fdopen(r) as pipe, no_echo(pipe):
        pass
    with no_echo(io.StringIO()), no_echo(None):
        pass


def test_no_echo_turns_echo_off_keeps_signals_and_output_then_restores() -> None:
    import termios

    master, slave = os.openpty()
    try:
        with os.fdopen(os.dup(slave), "rb", buffering=0) as tty:
            before = termios.tcgetattr(slave)
            with no_echo(tty):
                lflag = termios.tcgetattr(slave)[3]
                assert not lflag & termios.ECHO
                assert not lflag & termios.ECHOCTL
                assert lflag & termios.ISIG  # Ctrl-C / Ctrl-Z still signal
                assert lflag & termios.NOFLSH  # and do not discard pending output
            assert termios.tcgetattr(slave) == before
    finally:
        os.close(slave)
        os.close(master)


def test_hold_no_echo_starts_from_and_puts_back_the_modes_found() -> None:
    """The shell's hold from the first frame on: the modes found before the
    frame changed them (Enter made a newline there, not here) are the base,
    and what is put back at the end."""
    import termios

    master, slave = os.openpty()
    try:
        with os.fdopen(os.dup(slave), "rb", buffering=0) as tty:
            found = termios.tcgetattr(slave)
            frame = list(found)
            frame[0] &= ~termios.ICRNL
            termios.tcsetattr(slave, termios.TCSANOW, frame)
            give_back = hold_no_echo(tty, found)
            held = termios.tcgetattr(slave)
            assert not held[3] & termios.ECHO and held[3] & termios.ISIG
            assert held[0] & termios.ICRNL  # from the modes found, not the frame's
            give_back()
            assert termios.tcgetattr(slave) == found
    finally:
        os.close(slave)
        os.close(master)
