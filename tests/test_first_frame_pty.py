"""The first frame (shell/first_frame.py), end to end in a pseudo-terminal:
the prompt is drawn from the files before asyncio, the client and
prompt_toolkit load (a new session's model filled in once the server says
it), keys typed meanwhile reach the prompt as typed, a frame withdrawn
leaves nothing behind, and the terminal's modes are given back. No timing
is asserted: the order of what the terminal receives is."""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import time
from pathlib import Path

import pexpect
import pytest
from conftest import run_proc
from fakeserver import FakeServer
from helpers import CTRL_D, new_store, session_records
from pty_harness import GUARD, ROOT, Term, saved

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
PROMPT = re.compile(r"main\x1b\[[0-9;]*m openai:\S+\x1b\[0m ›")
EDITOR_READY = "\x1b[6n"  # prompt_toolkit's first output: where is the cursor?


def spawn(
    server: FakeServer,
    home: Path,
    *,
    then: str = "",
    flags: tuple[str, ...] = (),
    args: tuple[str, ...] = (),
) -> Term:
    env = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    python = [sys.executable, *flags]  # flags: the interpreter's (-X importtime)
    cmd = shlex.join([*python, "-m", "copilot_repl", "--base-url", server.url, *args])
    child = pexpect.spawn(
        "/bin/sh",
        ["-c", f"{cmd}; {then}" if then else f"exec {cmd}"],
        env=env,
        cwd=str(ROOT),
        dimensions=(30, 100),
        encoding="utf-8",
        timeout=GUARD,
    )
    return Term(child)


def first_prompt(term: Term) -> None:
    """Read until the prompt has been drawn once (the frame, or prompt_toolkit's)."""
    end = time.monotonic() + GUARD
    while time.monotonic() < end:
        if PROMPT.search(term.raw):
            return
        term.pump(0.02)
    raise AssertionError(f"no prompt; the terminal showed {term.raw[-500:]!r}")


def test_the_prompt_is_drawn_before_the_line_editor_takes_the_terminal(
    server: FakeServer, home: Path
) -> None:
    term = spawn(server, home)
    try:
        term.expect("Ctrl-D quits")
        term.prompt("main")
        end = time.monotonic() + GUARD
        while EDITOR_READY not in term.raw and time.monotonic() < end:
            term.pump(0.1)
        frame = PROMPT.search(term.raw)
        assert frame is not None
        assert frame.start() < term.raw.index(EDITOR_READY)
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        term.child.close(force=True)


def test_keys_typed_while_the_frame_is_up_reach_the_prompt(server: FakeServer, home: Path) -> None:
    term = spawn(server, home)
    try:
        first_prompt(term)
        term.line("hello there")  # at once: prompt_toolkit may not be ready yet
        term.expect(r"echo: hello there")
        term.prompt("main")
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        term.child.close(force=True)
    assert [m["content"] for m in saved(home, "main")] == ["hello there", "echo: hello there"]
    typed = term.plain.split("echo: hello there")[0]
    assert "hello there\nhello there" not in typed  # not echoed by the terminal as well


def test_the_terminal_modes_are_given_back_at_exit(server: FakeServer, home: Path) -> None:
    term = spawn(server, home, then="stty -a")
    try:
        first_prompt(term)
        term.send(CTRL_D)
        term.expect(r"speed \d+ baud")
        term.expect(r"-?icrnl")
        term.exit_status()
    finally:
        term.child.close(force=True)
    modes = set(term.plain.split())
    assert {"echo", "icanon", "icrnl", "isig"} <= modes, sorted(modes)


def test_keys_typed_after_the_hand_over_are_not_echoed_until_given_back() -> None:
    """Between ``hand_over`` and prompt_toolkit's raw mode the terminal must
    not echo: a prompt typed then (a loaded machine makes that moment
    long) was echoed by the terminal into the scrollback, then drawn and
    echoed again by the shell (test_live_view_firstday.py, issue 25 point 2).
    The keys stay as typed for the prompt to read; ``give_back`` restores
    the modes found."""
    import termios

    from copilot_repl.shell.first_frame import FirstFrame

    master, slave = os.openpty()
    termios.tcsetwinsize(slave, (24, 80))
    screen = os.fdopen(os.dup(slave), "w")
    keys = os.fdopen(os.dup(slave), "rb", buffering=0)
    try:
        found = termios.tcgetattr(slave)
        frame = FirstFrame.show(screen, keys, [("", "main › ")], plain=True)
        assert frame is not None
        frame.hand_over()
        assert not termios.tcgetattr(slave)[3] & termios.ECHO
        os.write(master, b"typed then\r")
        got = b""
        while len(got) < len(b"typed then\r"):  # each read waits for keys
            got += keys.read(64) or b""
        assert got == b"typed then\r"  # as typed: Enter not made a newline, no line held
        frame.give_back()
        assert termios.tcgetattr(slave) == found
        frame.clear()  # given back once only: the modes stay
        assert termios.tcgetattr(slave) == found
    finally:
        screen.close()
        keys.close()
        os.close(slave)
        os.close(master)


def importtime_line(module: str) -> re.Pattern[str]:
    """``-X importtime``'s line for ``module`` (written once it is imported)."""
    return re.compile(rf"\| +{re.escape(module)}\r?\n")


@pytest.mark.parametrize("data_dir", ["a saved session", "fresh", "-c"])
def test_the_prompt_is_drawn_before_asyncio_and_the_client_load(
    server: FakeServer, home: Path, data_dir: str
) -> None:
    """Issue 26 (goal 4): the welcome lines and the prompt come from the files
    alone. The interpreter's import log goes to the same terminal, so what
    it received says in which order: the frame, then asyncio and the client."""
    if data_dir != "fresh":
        new_store(home, "main")
    if data_dir == "a saved session":
        Path(home, "state.json").write_text('{"current": "main"}')
    args = ("-c",) if data_dir == "-c" else ()
    term = spawn(server, home, flags=("-X", "importtime"), args=args)
    try:
        end = time.monotonic() + GUARD
        while EDITOR_READY not in term.raw and time.monotonic() < end:
            term.pump(0.1)
        frame = PROMPT.search(term.raw)
        assert frame is not None, term.raw[-800:]
        for module in ("asyncio", "copilot_repl.api.client", "prompt_toolkit"):
            imported = importtime_line(module).search(term.raw)
            assert imported is not None, f"no import line for {module}"
            assert frame.start() < imported.start(), f"{module} was imported before the frame"
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        term.child.close(force=True)


def test_a_new_session_s_prompt_is_drawn_while_the_server_is_asked_its_models(
    home: Path,
) -> None:
    """A fresh data dir with only --base-url: "main" takes the first model the
    server lists. The prompt is drawn before the server answers (the model
    shown as "openai:…"), keys typed then reach the prompt, and once the
    answer is in, the prompt shows that model and the session saves it."""
    with FakeServer(models=["echo", "gpt-4o-mini"], hold_models=True) as server:
        term = spawn(server, home)
        try:
            first_prompt(term)
            assert "main openai:… ›" in term.plain  # the server has not answered
            term.line("hello there")  # typed before the line editor is ready
            server.release_models()
            term.expect(r"echo: hello there")
            term.prompt("main")
            assert "main openai:echo › hello there" in term.plain
            term.send(CTRL_D)
            assert term.exit_status() == 0
        finally:
            term.child.close(force=True)
    header, *rest = session_records(home, "main")
    assert header["model"] == "openai:echo"
    assert [r["content"] for r in rest if r.get("t") == "msg"] == [
        "hello there",
        "echo: hello there",
    ]
    assert server.models_requests == 1


def test_a_warning_at_start_comes_before_the_welcome_lines_and_one_prompt(
    server: FakeServer, home: Path
) -> None:
    """What the shell says before its prompt (here: a stray file in
    ``sessions/``) is said first: no frame drawn before it, none left over."""
    new_store(home, "main")
    Path(home, "sessions", "main (copy).jsonl").write_text("{}\n")
    term = spawn(server, home)
    try:
        term.expect(r"skipped: 'main \(copy\)' is not a valid session name")
        term.expect("Ctrl-D quits")
        term.prompt("main")
        assert "›" not in term.plain.split("warning:")[0]
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        term.child.close(force=True)


def test_a_frame_withdrawn_leaves_the_screen_as_it_was() -> None:
    """``withdraw`` erases the welcome lines and the prompt it drew (the shell
    does before a warning, or when it shows other lines); ``draw`` puts a
    prompt back, in the frame's terminal modes."""
    import termios

    import pyte

    from copilot_repl.shell.first_frame import FirstFrame, prompt, welcome

    master, slave = os.openpty()
    termios.tcsetwinsize(slave, (24, 80))
    screen = os.fdopen(os.dup(slave), "w")
    keys = os.fdopen(os.dup(slave), "rb", buffering=0)
    shown = pyte.Screen(80, 24)
    stream = pyte.ByteStream(shown)

    def seen() -> list[str]:
        while True:
            try:
                data = os.read(master, 65536) if _readable(master) else b""
            except OSError:
                data = b""
            if not data:
                break
            stream.feed(data)
        return [line.rstrip() for line in shown.display if line.strip()]

    try:
        found = termios.tcgetattr(slave)
        screen.write("$ copilot-repl\n")
        lines = [*welcome(), "main (openai:m): 2 messages", "  you: hi", "  main: hello"]
        frame = FirstFrame.show(screen, keys, prompt("main", "openai:m"), plain=True, above=lines)
        assert frame is not None
        assert seen() == ["$ copilot-repl", *lines, "main openai:m ›"]
        frame.withdraw()
        assert seen() == ["$ copilot-repl"]
        assert not termios.tcgetattr(slave)[3] & termios.ECHO  # still the frame's modes
        screen.write("a warning\n")
        assert frame.draw(prompt("main", "openai:m"), plain=True)
        assert seen() == ["$ copilot-repl", "a warning", "main openai:m ›"]
        frame.clear()
        assert seen() == ["$ copilot-repl", "a warning"]
        assert termios.tcgetattr(slave) == found
    finally:
        screen.close()
        keys.close()
        os.close(slave)
        os.close(master)


def _readable(fd: int) -> bool:
    import select

    return bool(select.select([fd], [], [], 0.2)[0])


def test_the_frame_looks_for_the_blind_comparisons_and_the_trash_where_they_are() -> None:
    """``launch.opening`` draws no frame while a blind comparison is pending
    (its model must not show) or the trash may be purged: it names their
    directories without importing their modules (start-up)."""
    from copilot_repl.cli import launch
    from copilot_repl.history import blinds, trash

    assert (launch.BLINDS, launch.TRASH) == (blinds.SUBDIR, trash.TRASH)


def test_a_blind_session_reopened_never_shows_its_model(server: FakeServer, home: Path) -> None:
    """The last active session is in a blind comparison waiting for its vote
    (on disk): the welcome lines and every prompt say "hidden", from the
    first byte on (the frame drawn from the files must not know less)."""
    setup = ":new a --model gpt-4o-mini\n:new b --model slow\n:blind a,b What is a lock?\n"
    r = run_proc(["--base-url", server.url], stdin=setup)
    found = re.search(r"(blind-[0-9a-f]{4}): A, B answer", r.err)
    assert r.code == 0 and found, r.err
    blind = f"{found.group(1)}-A"
    Path(home, "state.json").write_text(json.dumps({"current": blind}))
    term = spawn(server, home)
    try:
        term.expect(rf"{blind} \(hidden\): 2 messages")
        term.expect(rf"{blind} hidden ›")
        end = time.monotonic() + GUARD
        while EDITOR_READY not in term.raw and time.monotonic() < end:
            term.pump(0.1)
        term.send(CTRL_D)
        assert term.exit_status() == 0
    finally:
        term.child.close(force=True)
    assert "openai:gpt-4o-mini" not in term.raw and "openai:slow" not in term.raw
