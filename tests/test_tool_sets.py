"""A session's tool set: ``:new NAME --tools MCP``, ``:tools on|off TOOL``,
saved with the session (a versioned ``tools`` of a meta record) and given
back at the next launch; older files, without one, load as before. The tools
come from a real stdio MCP server (tests/mcp_server.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from fakeserver import FakeServer
from helpers import mcp_config_text
from shell_harness import TAB, Harness, until

from copilot_repl.history.store import Store
from copilot_repl.repl.commands import command_groups
from copilot_repl.repl.completion import Sources, suggest
from copilot_repl.repl.registry import Registry


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(mcp_config_text())
    return path


def test_a_tool_set_and_a_tool_turned_off_are_kept_across_launches(
    server: FakeServer, config: Path, home: Path
) -> None:
    pytest.importorskip("mcp")
    base = ["--config", str(config), "--base-url", server.url, "--allow-all-tools"]
    first = run_cli(
        base,
        ":new rev --tools t\n:tools off t-add\n"
        'x #call=t-add:{"a":1,"b":2} #call=t-shout:{"text":"hi"}\n',
    )
    assert first.code == 0, first.err
    assert "tools: Tool 't-add' does not exist. Available tools that can be called are " in (
        first.out
    )
    assert first.out.rstrip().endswith("| HI")
    # a new launch, no --tools: the session has its servers, t-add still off
    second = run_cli([*base, "--session", "rev"], ':tools\nx #call=t-shout:{"text":"yo"}\n')
    assert second.code == 0, second.err
    rows = {line.split()[0]: line.split()[1] for line in second.out.splitlines() if "mcp t" in line}
    assert rows["t-add"] == "off" and rows["t-shout"] == "on"
    assert "tools: YO" in second.out
    third = run_cli([*base, "--session", "rev"], ':tools on t-add\nx #call=t-add:{"a":1,"b":2}\n')
    assert third.code == 0 and "tools: 3" in third.out
    saved = [
        json.loads(line)["tools"]
        for line in (home / "sessions" / "rev.jsonl").read_text().splitlines()
        if '"tools": {' in line or '"tools":{' in line
    ]
    assert saved[-1] == {"v": 1, "servers": ["t"], "off": []}


def test_a_tool_that_is_not_there_is_one_line(server: FakeServer, config: Path) -> None:
    pytest.importorskip("mcp")
    base = ["--config", str(config), "--base-url", server.url]
    done = run_cli(base, ":new rev --tools t\n:tools off nosuch\n")
    assert done.code != 0
    assert "rev has no tool 'nosuch' (its tools: t-add, " in done.err


def old_file(home: Path, name: str, *records: dict[str, object]) -> None:
    sessions = home / "sessions"
    sessions.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(r) for r in records]
    (sessions / f"{name}.jsonl").write_text("\n".join(lines) + "\n")


def test_old_files_load_without_a_tool_set_and_a_later_version_is_ignored(home: Path) -> None:
    hello = {"t": "msg", "role": "user", "content": "hi", "ts": 1.0}
    old_file(home, "v1", {"t": "session", "schema": 1, "model": "openai:gpt-4o-mini"}, hello)
    old_file(home, "v2", {"t": "session", "schema": 2, "model": "openai:m"}, hello)
    later = {"v": 2, "servers": ["t"], "toggles": {"x": True}}
    old_file(
        home,
        "later",
        {"t": "session", "schema": 2, "model": "openai:m"},
        {"t": "meta", "tools": {"v": 1, "servers": ["t"], "off": ["t-add"]}},
        {"t": "meta", "tools": later},
        hello,
    )
    store = Store(home)
    for name in ("v1", "v2"):
        loaded = store.load(name)
        assert loaded.data.tools is None and not loaded.warnings
        assert [m.content for m in loaded.data.messages] == ["hi"]
    loaded = store.load("later")
    assert not loaded.warnings  # a set of a later version: not corrupt, ignored
    assert loaded.data.tools == {"v": 1, "servers": ["t"], "off": ["t-add"]}


def test_tool_names_and_servers_are_completed() -> None:
    registry = Registry(*command_groups(None))  # the table only
    src = Sources(registry.commands, ["main"], [], tools=["t-add", "t-shout"], servers=["fs", "t"])
    assert suggest(":tools ", src) == ("", ["off", "on", "fs", "t"])
    assert suggest(":tools off t-", src) == ("t-", ["t-add", "t-shout"])
    assert suggest(":tools on t-add,t-", src) == ("t-", ["t-shout"])
    assert suggest(":tools fs,", src) == ("", ["t"])
    assert suggest(":new rev --tools f", src) == ("f", ["fs"])


def test_a_saved_server_gone_from_the_config_is_one_line_and_the_session_goes_on(
    server: FakeServer, config: Path, tmp_path: Path
) -> None:
    pytest.importorskip("mcp")
    made = run_cli(["--config", str(config), "--base-url", server.url], ":new rev --tools t\n")
    assert made.code == 0, made.err
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    later = run_cli(["--config", str(empty), "--base-url", server.url, "--session", "rev"], "hi\n")
    assert later.code == 0, later.err
    assert "rev: MCP server t is no longer in config.toml" in later.err
    assert "echo: hi" in later.out


async def test_tab_completes_a_tool_name_in_the_shell(shell: Harness) -> None:
    from copilot_repl.tools import define_tool

    tool = define_tool("get_weather", description="weather")(lambda: "sunny")
    await shell.repl.current.set_tools([tool])
    shell.send(":tools off get_w")
    await shell.typed(":tools off get_w")
    shell.send(TAB)
    await shell.typed(":tools off get_weather")
    shell.send("\r")
    await until(lambda: "get_weather off" in shell.text, ":tools off get_weather")
    assert shell.repl.current.settings.excluded_tools == ["get_weather"]


def test_a_fork_has_its_parents_tool_set(home: Path) -> None:
    from copilot_repl.history.fork import fork

    toolset = {"v": 1, "servers": ["t"], "off": ["t-add"]}
    old_file(
        home,
        "parent",
        {"t": "session", "schema": 2, "model": "openai:m"},
        {"t": "msg", "role": "user", "content": "hi", "ts": 1.0},
        {"t": "meta", "tools": toolset},
    )
    assert fork(Store(home), "parent", "child").data.tools == toolset


def test_tools_given_at_launch_are_for_that_run_and_keep_the_tools_turned_off(
    server: FakeServer, config: Path, home: Path
) -> None:
    pytest.importorskip("mcp")
    base = ["--config", str(config), "--base-url", server.url, "--allow-all-tools"]
    assert run_cli(base, ":new rev --tools t\n:tools off t-add\n").code == 0
    launched = run_cli([*base, "--session", "rev", "--tools", "t"], ":tools\n:tools off t-shout\n")
    assert launched.code == 0, launched.err
    rows = {
        line.split()[0]: line.split()[1] for line in launched.out.splitlines() if "mcp t" in line
    }
    assert rows["t-add"] == "off" and rows["t-shout"] == "on"
    saved = [
        json.loads(line)["tools"]
        for line in (home / "sessions" / "rev.jsonl").read_text().splitlines()
        if '"tools": {' in line or '"tools":{' in line
    ]
    assert saved[-1] == {"v": 1, "servers": ["t"], "off": ["t-add", "t-shout"]}
