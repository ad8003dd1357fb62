"""One-shot prompts, --json event lines, subcommand precedence, and --model
applied to the session opened: through cli.main against the loopback server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from conftest import Result, run_cli, run_proc
from fakeserver import FakeServer

from copilot_repl.api.client import CopilotClient
from copilot_repl.api.events import SessionEventType
from copilot_repl.history.store import Store

ERR = "copilot-repl: error: "
SDK_TYPES = {t.value for t in SessionEventType}


def cli(server: FakeServer, args: list[str], stdin: str | bytes = "") -> Result:
    return run_cli(["--base-url", server.url, *args], stdin)


def user_text(server: FakeServer) -> str:
    return str(server.requests[-1]["body"]["messages"][-1]["content"])


# -- one-shot -------------------------------------------------------------------
def test_positional_prompt_prints_the_reply_and_exits_0(server: FakeServer, home: Path) -> None:
    r = cli(server, ["what is 2+2"])
    assert r == Result(0, "echo: what is 2+2\n", "")
    store = Store(home)
    assert store.names() == ["prompt-1"]
    assert store.current() is None  # the shell still reopens what it did before
    r = cli(server, ["-p", "again"])
    assert r.code == 0 and Store(home).names() == ["prompt-1", "prompt-2"]
    assert [m["content"] for m in server.requests[-1]["body"]["messages"]] == ["again"]


def test_session_flag_continues_a_session(server: FakeServer, home: Path) -> None:
    cli(server, ["--session", "work", "-p", "first"])
    r = cli(server, ["--session", "work", "-p", "second"])
    assert r.code == 0, r.err
    sent = [m["content"] for m in server.requests[-1]["body"]["messages"]]
    assert sent == ["first", "echo: first", "second"]


def test_piped_stdin_and_files_go_with_the_prompt(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    f = tmp_path / "notes.md"
    f.write_text("# notes\nuse ``` fences\n")
    r = cli(server, ["-p", "review this", "-f", str(f)], "def add(a, b): return a - b\n")
    assert r.code == 0, r.err
    assert user_text(server) == (
        "review this\n\nstdin:\n```\ndef add(a, b): return a - b\n```\n"
        "\n\nnotes.md:\n````\n# notes\nuse ``` fences\n````\n"
    )


def test_files_that_cannot_be_attached_fail_before_anything_is_sent(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    binary = tmp_path / "a.bin"
    binary.write_bytes(b"\x00\x01\x02")
    big = tmp_path / "big.txt"
    big.write_text("x" * (256 * 1024 + 1))
    cases = {
        str(tmp_path / "missing.txt"): "No such file or directory",
        str(binary): "it is a binary file",
        str(big): "larger than 256 KB",
        str(tmp_path): "it is a directory",
    }
    for path, why in cases.items():
        r = cli(server, ["-p", "hi", "-f", path])
        assert r.code == 2
        assert r.err == f"{ERR}cannot attach {path}: {why}\n"
        assert r.out == ""
    assert server.requests == [] and Store(home).names() == []


def test_a_failed_turn_exits_1_with_one_line(server: FakeServer, home: Path) -> None:
    r = cli(server, ["-p", "hi #status=401"])
    assert r.code == 1
    assert r.out == ""
    assert len(r.err.splitlines()) == 1 and r.err.startswith(ERR), r.err


def test_f_without_a_prompt_is_bad_usage(server: FakeServer) -> None:
    r = cli(server, ["-f", "x.txt"], ":ls\n")
    assert r.code == 2 and "-f attaches files to a prompt" in r.err


def test_a_prompt_is_one_argument(server: FakeServer) -> None:
    r = cli(server, ["what", "is", "this"])
    assert r.code == 2 and "a prompt is one argument: quote it" in r.err
    assert server.requests == []


# -- subcommands come first; -p is always a prompt -----------------------------
def test_subcommand_name_wins_over_a_prompt(server: FakeServer, home: Path) -> None:
    r = cli(server, ["sessions", "list"])
    assert r.code == 0 and server.requests == []
    r = cli(server, ["-p", "sessions"])
    assert r.code == 0 and r.out == "echo: sessions\n"
    r = cli(server, ["--", "sessions"])
    assert r.code == 0 and r.out == "echo: sessions\n"


def test_near_miss_of_a_subcommand_is_not_sent(server: FakeServer) -> None:
    r = cli(server, ["session"])
    assert r.code == 2
    assert "did you mean 'sessions'? (to send it as a prompt: -p session)" in r.err
    assert server.requests == []


def test_help_lists_the_subcommands() -> None:
    r = run_cli(["--help"])
    assert r.code == 0
    assert "copilot-repl SUBCOMMAND" in r.out
    assert "sessions [list|show|rm|restore|rename|export|import]" in r.out
    assert "-p sessions" in r.out


# -- --model and --base-url apply to the session opened ----------------------------
def test_model_flag_switches_the_session_opened_and_says_so(server: FakeServer, home: Path) -> None:
    cli(server, [], "hello\n")  # main on openai:gpt-4o-mini
    r = cli(server, ["--model", "openai:echo"], "again\n")
    assert r.code == 0, r.err
    assert r.err == "copilot-repl: main now uses openai:echo\n"
    assert r.out == "echo: again\n"
    assert server.requests[-1]["body"]["model"] == "echo"
    assert Store(home).load("main").data.model == "openai:echo"
    r = cli(server, ["--model", "openai:echo"], "third\n")
    assert r.err == ""  # already on it: nothing to say


def test_model_flag_applies_to_a_one_shot_session(server: FakeServer, home: Path) -> None:
    cli(server, ["--session", "s", "-p", "one"])
    r = cli(server, ["--session", "s", "--model", "openai:echo", "-p", "two"])
    assert r.code == 0
    assert r.err == "copilot-repl: s now uses openai:echo\n"
    assert server.requests[-1]["body"]["model"] == "echo"


def test_base_url_moves_a_session_of_another_provider(server: FakeServer, home: Path) -> None:
    cli(server, ["--model", "local"], ":ls\n")  # main is created on the local model
    assert Store(home).load("main").data.model.startswith("local:")
    r = cli(server, [], "hi\n")
    assert r.err == "copilot-repl: main now uses openai:gpt-4o-mini\n"
    assert r.out == "echo: hi\n"


# -- --json -----------------------------------------------------------------------
def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def check_schema(events: list[dict[str, Any]]) -> None:
    sdk = {"type", "id", "timestamp", "parentId", "ephemeral", "sessionId", "data"}
    for e in events:
        assert isinstance(e["data"], dict)
        if e["type"] in ("copilot_repl.output", "copilot_repl.message", "copilot_repl.table"):
            assert set(e) == {"type", "data"}  # command output, not an event
        else:
            assert e["type"] in SDK_TYPES and set(e) == sdk
    ids = [e["id"] for e in events if "id" in e]
    assert len(ids) == len(set(ids))  # each event once


def test_json_prompt_one_event_a_line(server: FakeServer, home: Path) -> None:
    r = cli(server, ["--json", "-p", "hello there"])
    assert r.code == 0 and r.err == ""
    events = json_lines(r.out)
    check_schema(events)
    assert {e["sessionId"] for e in events} == {"prompt-1"}
    types = [e["type"] for e in events]
    assert types[-1] == "session.idle"
    deltas = "".join(e["data"]["delta_content"] for e in events if e["type"].endswith("_delta"))
    assert deltas == "echo: hello there"
    (message,) = [e for e in events if e["type"] == "assistant.message"]
    assert message["data"]["content"] == "echo: hello there"
    assert "assistant.usage" in types and "user.message" in types


def test_json_events_match_the_python_api(server: FakeServer, home: Path) -> None:
    """Same names, same fields, same order as a Python program subscribing."""
    seen: list[dict[str, Any]] = []

    async def program() -> None:
        client = CopilotClient(base_url=server.url)
        await client.start()
        session = await client.create_session(
            streaming=True, on_event=lambda e: seen.append(e.to_dict())
        )
        await session.send_and_wait("hello there")
        await client.stop()

    asyncio.run(program())
    r = cli(server, ["--json", "-p", "hello there"])
    printed = json_lines(r.out)

    def shape(events: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...]]]:
        return [(e["type"], tuple(sorted(e["data"]))) for e in events]

    assert shape(printed) == shape(seen)


def test_json_script_mode(server: FakeServer, home: Path) -> None:
    script = ":new a --model openai:echo\n:ask a,main same\n:ls\nhi #status=401\n"
    r = cli(server, ["--json"], script)
    assert r.code == 1  # the last turn failed
    events = json_lines(r.out)
    check_schema(events)
    replies = [e for e in events if e["type"] == "assistant.message"]
    assert {(e["sessionId"], e["data"]["content"]) for e in replies} == {
        ("a", "echo: same"),
        ("main", "echo: same"),
    }
    (table,) = [e for e in events if e["type"] == "copilot_repl.table"]
    assert table["data"]["header"][1] == "session"
    assert [e["type"] for e in events if e["type"] == "session.error"] == ["session.error"]
    errors = [line for line in r.err.splitlines() if line.startswith(ERR)]
    assert len(errors) == 1
    assert "copilot-repl: created a (openai:echo)" in r.err.splitlines()


def test_json_background_reply_is_not_repeated(server: FakeServer, home: Path) -> None:
    r = cli(server, ["--json"], "later &\n")
    assert r.code == 0, r.err
    events = json_lines(r.out)
    assert [e["type"] for e in events].count("assistant.message") == 1
    assert not [e for e in events if e["type"] == "copilot_repl.message"]


def test_json_needs_a_prompt_or_a_script_in_a_subprocess(server: FakeServer) -> None:
    r = run_proc(["--base-url", server.url, "--json", "-p", "hi"])
    assert r.code == 0
    assert [json.loads(x)["type"] for x in r.out.splitlines()][-1] == "session.idle"
