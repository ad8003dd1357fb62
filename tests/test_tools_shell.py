"""Tools in the front ends: script mode and one-shot prompts refuse a tool
unless --allow-tool / --allow-all-tools, and show each call on one line; the
shell asks before a tool runs (a real pseudo-terminal), and remembers
"always"; :tools lists a session's tools. The tools come from a real stdio MCP
server (tests/mcp_server.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
from conftest import run_cli
from fakeserver import FakeServer
from helpers import mcp_config_text
from pty_harness import GUARD, ROOT, Term

from copilot_repl.repl.tools import ToolPolicy
from copilot_repl.shell.toolbar import toolbar_fragments

pytest.importorskip("mcp")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(mcp_config_text())
    return path


def script(server: FakeServer, config: Path, *flags: str, stdin: str) -> tuple[int, str, str]:
    args = ["--config", str(config), "--base-url", server.url, "--tools", "t", *flags]
    result = run_cli(args, stdin)
    return result.code, result.out, result.err


def test_script_mode_refuses_a_tool_in_one_line_and_the_turn_goes_on(
    server: FakeServer, config: Path
) -> None:
    code, out, err = script(server, config, stdin='add #call=t-add:{"a":2,"b":40}\n')
    assert code == 0
    assert "tool t-add refused: allow it with --allow-tool t-add or --allow-all-tools" in err
    assert "tools: The user rejected this tool call. User feedback: the user did not allow" in out
    assert "⚙ t-add" in err and "failed" in err


def test_allow_tool_runs_it_and_the_call_is_one_line(server: FakeServer, config: Path) -> None:
    prompt = 'add #call=t-add:{"a":2,"b":40} #call=t-shout:{"text":"x"}\n'
    code, out, err = script(server, config, "--allow-tool", "t-add", stdin=prompt)
    assert code == 0
    assert "tools: 42 | The user rejected" in out  # t-shout was not allowed
    assert '⚙ t-add {"a":2,"b":40} · ok' in err
    code, out, err = script(server, config, "--allow-all-tools", stdin=prompt + ":tools\n")
    assert "tools: 42 | X" in out
    assert "t-add" in out and "mcp t" in out and "MCP servers in config.toml: t (in use)" in out


def test_a_one_shot_prompt_takes_the_same_options(server: FakeServer, config: Path) -> None:
    args = ["--config", str(config), "--base-url", server.url, "--tools", "t"]
    done = run_cli([*args, "--allow-all-tools", 'go #call=t-shout:{"text":"hi"}'])
    assert done.code == 0 and done.out.strip() == "tools: HI"
    refused = run_cli([*args, 'go #call=t-shout:{"text":"hi"}'])
    assert "tool t-shout refused" in refused.err and "tools: The user rejected" in refused.out


def test_a_session_waiting_for_permission_is_marked() -> None:
    policy = ToolPolicy.of(["a,b"])
    assert policy.allows("s", "a") and policy.allows("s", "b") and not policy.allows("s", "c")
    fragments = toolbar_fragments([("main", "idle"), ("review", "permission")], "main", 80)
    assert " review ⚠ " in [text for _, text in fragments]


@pytest.fixture
def shell(server: FakeServer, home: Path, config: Path) -> Iterator[Term]:
    env = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "xterm"}
    child = pexpect.spawn(
        sys.executable,
        ["-m", "copilot_repl", "--base-url", server.url, "--config", str(config), "--tools", "t"],
        env=env,
        cwd=str(ROOT),
        dimensions=(30, 120),
        encoding="utf-8",
        timeout=GUARD,
    )
    term = Term(child)
    term.prompt("main")
    yield term
    if child.isalive():
        child.terminate(force=True)
    child.close()


def test_the_shell_asks_before_a_tool_runs_and_remembers_always(shell: Term) -> None:
    shell.line('one #call=t-add:{"a":2,"b":40}')
    # the MCP server starts now: a longer guard on a loaded machine
    shell.expect(r"the model asks to run t-add \{\"a\":2,\"b\":40\}; allow it\?", timeout=60)
    shell.line("n")
    shell.expect(r"tools: The user rejected this tool call")
    shell.prompt("main")
    shell.line('two #call=t-add:{"a":1,"b":1}')
    shell.expect(r"allow it\?")
    shell.line("t")  # always for this tool
    shell.expect(r"⚙ t-add \{\"a\":1,\"b\":1\} · ok")
    shell.expect(r"tools: 2")
    shell.prompt("main")
    mark = len(shell.plain)
    shell.line('three #call=t-add:{"a":5,"b":5}')
    shell.expect(r"tools: 10")
    assert "allow it?" not in shell.plain[mark:]


def test_history_shows_each_call_on_one_line_with_its_result_made_safe(
    server: FakeServer, config: Path
) -> None:
    prompt = 'x #call=t-shout:{"text":"a\\u001b[2Jb"}\n:history\n'
    code, out, _ = script(server, config, "--allow-all-tools", stdin=prompt)
    assert code == 0
    assert '⚙ t-shout {"text":"a\\u001b[2Jb"} · ok: A␛[2JB' in out
    assert "\x1b" not in out


def test_a_background_session_waiting_for_permission_is_shown_and_asked_on_switch(
    shell: Term,
) -> None:
    shell.line(":new other")
    shell.prompt("other")
    shell.line(":switch main")
    shell.prompt("main")
    shell.line(':send other x #call=t-add:{"a":1,"b":2}')
    shell.expect(r"\[other\] waits for permission to run a tool: :switch other to answer", 60)
    shell.line(":jobs")
    shell.expect(r"other\s+openai:\S+\s+waits for permission")
    shell.line(":ls")
    shell.expect(r"other\s+openai:\S+\s+\d+\s+.*waits for permission")
    shell.expect(r"other ⚠")  # the toolbar
    shell.line(":switch other")
    shell.expect(r"\[other\] the model asks to run t-add \{\"a\":1,\"b\":2\}; allow it\?")
    shell.line("y")
    shell.expect(r"tools: 3")
    shell.prompt("other")


def test_a_background_reply_with_tool_rounds_is_noted_once_when_it_really_ends(
    server: FakeServer, config: Path
) -> None:
    stdin = ':new other\n:send other x #call=t-add:{"a":1,"b":2}\n:wait\n'
    code, out, err = script(server, config, "--allow-all-tools", stdin=stdin)
    assert code == 0
    assert out.count("tools: 3") == 1
    assert err.count("[other] reply done") == 1


def test_find_searches_tool_calls_and_results(server: FakeServer, config: Path) -> None:
    stdin = 'x #call=t-add:{"a":1234567,"b":1}\n:find 1234567\n'
    code, out, _ = script(server, config, "--allow-all-tools", stdin=stdin)
    assert code == 0
    assert "tools: 1234568" in out  # the reply does not hold the number searched
    assert "main@2" in out and "no matches" not in out


def test_ask_gives_each_session_the_tools(server: FakeServer, config: Path) -> None:
    stdin = ':new a\n:ask main,a x #call=t-add:{"a":1,"b":2}\n'
    code, out, _ = script(server, config, "--allow-all-tools", stdin=stdin)
    assert code == 0
    assert out.count("tools: 3") == 2


def test_the_mcp_server_stops_with_copilot_repl(server: FakeServer, tmp_path: Path) -> None:
    from conftest import live_processes
    from helpers import wait_for

    marker = f"mark-{tmp_path.name}"
    config = tmp_path / "marked.toml"
    config.write_text(mcp_config_text() + f'env = {{ MARK = "{marker}" }}\n')
    code, out, _ = script(server, config, "--allow-all-tools", stdin="x #call=t-env_names:{}\n")
    assert code == 0 and "MARK" in out  # the server ran, with the variable
    wait_for(lambda: not live_processes(b"mcp_server.py", "MARK", marker))


def test_a_tool_question_during_ask_is_asked_over_the_live_columns(
    server: FakeServer, home: Path, config: Path
) -> None:
    """:ask to two sessions whose models ask to run a tool: each question
    was drawn over by the live columns (never seen; the keys typed answered
    it blind). It is asked on the normal screen, the columns set aside
    meanwhile; the questions and answers stay in the scrollback, above the
    final table."""
    pytest.importorskip("pyte")
    from screen_harness import Screen

    screen = Screen(server.url, home, 24, 80, args=["--config", str(config), "--tools", "t"])
    try:
        screen.prompt()
        screen.line(":new b")
        screen.prompt("b")
        screen.line(':ask main,b x #call=t-add:{"a":1,"b":2}')
        for n in (1, 2):  # one question per session, one at a time
            # the MCP server starts now: a longer guard on a loaded machine
            screen.wait(lambda n=n: screen.display.count("allow it?") == n, f"question {n}")
            assert screen.screen.normal is None  # asked on the normal screen
            screen.child.send("y\r")
        screen.wait(lambda: "┃ main (openai:" in screen.display, "the final table")
        screen.prompt("b")
        text = screen.transcript()
        asked = [text.index(f"[{s}] the model asks to run t-add") for s in ("main", "b")]
        assert text.index("› :ask main,b") < min(asked) < max(asked) < text.index("┃ main ("), text
        assert text.count("tools: 3") == 2, text
    finally:
        screen.close()
