"""Script mode as transcripts: stdin in; stdout, stderr and exit status out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Result, run_cli, run_proc
from fakeserver import FakeServer

from copilot_repl.history.store import Store

ERR = "copilot-repl: error: "


def cli(server: FakeServer, script: str | bytes, *args: str) -> Result:
    return run_cli(["--base-url", server.url, *args], script)


def errors(r: Result) -> list[str]:
    lines = [line for line in r.err.splitlines() if line.startswith("copilot-repl: error")]
    return lines


NOTE = "copilot-repl: "  # status lines on stderr: "copilot-repl: created X (M)"


def notes(r: Result) -> list[str]:
    """The status lines (not errors or warnings) on stderr."""
    skip = (ERR, "copilot-repl: warning: ")
    return [
        line[len(NOTE) :]
        for line in r.err.splitlines()
        if line.startswith(NOTE) and not line.startswith(skip)
    ]


def assert_errors_are_one_line_each(r: Result, count: int) -> None:
    lines = r.err.splitlines()
    errs = [line for line in lines if not line.startswith("copilot-repl: warning: ")]
    errs = [line for line in errs if line.startswith(ERR) or not line.startswith(NOTE)]
    assert len(errs) == count, r.err
    assert all(line.startswith(ERR) for line in errs), r.err
    assert "Traceback" not in r.err


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def history(home: Path, name: str) -> list[tuple[str, str, str]]:
    data = Store(home).load(name).data
    return [(m.role, m.content, m.status) for m in data.messages]


def ls_rows(out: str) -> list[list[str]]:
    """``:ls`` lines as [marker, name, model, messages, modified, (state)]."""
    return [[line[0], *line[1:].split()] for line in out.splitlines()]


def sent(server: FakeServer, i: int = -1) -> list[dict[str, str]]:
    return server.requests[i]["body"]["messages"]


# -- prompts ----------------------------------------------------------------------


def test_prompt_reply_on_stdout(server: FakeServer, home: Path) -> None:
    r = cli(server, "hello world\n")
    assert r == Result(0, "echo: hello world\n", "")
    assert history(home, "main") == [
        ("user", "hello world", "done"),
        ("assistant", "echo: hello world", "done"),
    ]
    body = server.requests[-1]["body"]
    assert body["stream"] is True and body["model"] == "gpt-4o-mini"


def test_empty_store_creates_main(server: FakeServer, home: Path) -> None:
    r = cli(server, ":ls\n")
    assert r.code == 0
    assert ls_rows(r.out)[0][:4] == ["*", "main", "openai:gpt-4o-mini", "0"]
    assert Store(home).names() == ["main"]


@pytest.mark.parametrize("script", ["", "\n", "  \n\n\t\n"])
def test_an_empty_script_opens_nothing_and_asks_no_server(
    server: FakeServer, home: Path, script: str
) -> None:
    """Nothing to run: no session, no data dir files, no request (not even
    the model list a new ``main`` on ``--base-url`` alone would need)."""
    r = cli(server, script, "--model", "openai:gpt-4o-mini", "-s", "be brief")
    assert r == Result(0, "", "")
    assert server.requests == [] and server.models_requests == 0
    assert not home.exists() or snapshot(home) == {}


def test_a_script_starting_with_blank_lines_runs_the_rest(server: FakeServer, home: Path) -> None:
    r = cli(server, "\n  \nhello\n")
    assert r == Result(0, "echo: hello\n", "")
    assert history(home, "main")[0] == ("user", "hello", "done")


def test_no_ansi_and_long_reply_streams_whole(server: FakeServer) -> None:
    r = cli(server, "go #deltas=500\n")
    assert r.code == 0, r.err
    assert "\x1b" not in r.out
    assert r.out.startswith("## Section 1") and r.out.endswith("\n")
    assert len(r.out) > 2000


def test_multiline_prompt(server: FakeServer, home: Path) -> None:
    r = cli(server, '"""\nline one\n\n  indented: line\n"""\n:history\n')
    assert r.code == 0, r.err
    assert sent(server)[-1] == {"role": "user", "content": "line one\n\n  indented: line"}
    assert history(home, "main")[0][1] == "line one\n\n  indented: line"


def test_multiline_prompt_starting_with_a_colon_is_still_a_prompt(
    server: FakeServer, home: Path
) -> None:
    r = cli(server, '"""\n:ls is a command\nexplain it\n"""\n')
    assert r.code == 0, r.err
    assert sent(server)[-1]["content"] == ":ls is a command\nexplain it"


def test_unclosed_multiline_prompt_is_not_sent_and_fails(server: FakeServer) -> None:
    r = cli(server, 'first\n"""\nstill\nopen\n')
    assert r.code == 1
    assert r.err == (
        f'{ERR}line 2: the """ opened here is never closed; that multi-line prompt was not sent\n'
    )
    assert r.out == "echo: first\n"
    assert [m["content"] for m in sent(server)] == ["first"]


def test_double_colon_sends_a_literal_colon(server: FakeServer, home: Path) -> None:
    r = cli(server, "::ls is not a command\n")
    assert r == Result(0, "echo: :ls is not a command\n", "")
    assert sent(server)[-1]["content"] == ":ls is not a command"


def test_binary_bytes_on_stdin(server: FakeServer, home: Path) -> None:
    r = cli(server, b"\xff\xfe\x80 binary \x00\x1b[2J prompt\n:ls\n")
    assert r.code == 0, r.err
    assert "\x1b" not in r.out and "\x00" not in r.out
    (user, reply) = history(home, "main")
    assert "binary" in user[1] and "\ufffd" in user[1]
    assert reply[0] == "assistant" and reply[2] == "done"


def test_one_megabyte_prompt(server: FakeServer, home: Path) -> None:
    big = "x" * (1 << 20)
    r = cli(server, f"{big}\n:ls\n")
    assert r.code == 0, r.err
    assert r.out.startswith(f"echo: {big}\n")
    assert history(home, "main")[0] == ("user", big, "done")
    assert ls_rows(r.out.splitlines()[-1])[0][:4] == ["*", "main", "openai:gpt-4o-mini", "2"]


def test_whole_history_is_sent_each_turn_system_first(server: FakeServer) -> None:
    r = cli(server, ":system be terse\nfirst\nsecond\n")
    assert r.code == 0, r.err
    assert sent(server) == [
        {"role": "system", "content": "be terse"},
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "echo: first"},
        {"role": "user", "content": "second"},
    ]
    r = cli(server, "third\n")  # a new process: the history comes from disk
    assert r.code == 0, r.err
    assert [m["content"] for m in sent(server)] == [
        "be terse",
        "first",
        "echo: first",
        "second",
        "echo: second",
        "third",
    ]


def test_relaunch_keeps_history_and_reopens_the_last_session(
    server: FakeServer, home: Path
) -> None:
    r = cli(server, ":new a\nhello a\n:new b\nhello b\n:switch a\n")
    assert r.code == 0, r.err
    r = cli(server, ":history\n:ls\n")
    assert r.code == 0, r.err
    assert r.out.startswith("=== 1. user ===\nhello a\n=== 2. assistant ===\necho: hello a\n")
    rows = {row[1]: row for row in ls_rows(r.out.split("echo: hello a\n", 1)[1])}
    assert rows["a"][0] == "*" and rows["a"][3] == "2"
    assert rows["b"][3] == "2" and rows["main"][3] == "0"


def test_session_flag_opens_or_creates(server: FakeServer, home: Path) -> None:
    r = cli(server, "hi\n", "--session", "fresh")
    assert r.code == 0, r.err
    assert history(home, "fresh")[0][1] == "hi"
    r = cli(server, ":history\n", "--session", "fresh")
    assert "hi" in r.out


# -- commands ---------------------------------------------------------------------


def test_new_switch_ls(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new work --model openai:echo --system 'be brief'\n:ls\n:switch main\n:ls\n")
    assert r.code == 0, r.err
    out = r.out.splitlines()
    assert notes(r) == ["created work (openai:echo)"]
    first = ls_rows("\n".join(out[0:2]))
    assert [row[:4] for row in first] == [
        [" ", "main", "openai:gpt-4o-mini", "0"],
        ["*", "work", "openai:echo", "0"],
    ]
    second = ls_rows("\n".join(out[2:4]))
    assert [row[:2] for row in second] == [["*", "main"], [" ", "work"]]
    data = Store(home).load("work").data
    assert data.model == "openai:echo" and data.system == "be brief"


def test_new_without_a_name_picks_a_free_one(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new\n:new\n")
    assert r.out == ""
    assert notes(r) == [
        "created chat-1 (openai:gpt-4o-mini)",
        "created chat-2 (openai:gpt-4o-mini)",
    ]
    assert Store(home).current() == "chat-2"


def test_switch_alias(server: FakeServer) -> None:
    r = cli(server, ":new other\n:s main\nhi\n:switch other\n:history\n")
    assert r.code == 0, r.err
    assert r.out.splitlines()[-1] == "(no messages yet)"


def test_rm(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new a\n:new b\n:rm a\n:ls\n")
    assert r.code == 0, r.err
    assert any(n.startswith("moved a to the trash (:restore") for n in notes(r))
    assert Store(home).names() == ["b", "main"]


def test_rm_current_switches_to_another(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new a\n:rm a\nhello\n")
    assert r.code == 0, r.err
    assert any(
        n.startswith("moved a to the trash") and n.endswith("; now in main") for n in notes(r)
    )
    assert history(home, "main")[0][1] == "hello"


def test_rm_the_last_session_makes_a_new_main(server: FakeServer, home: Path) -> None:
    r = cli(server, "hello\n:rm main\n:history\n")
    assert r.code == 0, r.err
    assert r.out.splitlines()[-1] == "(no messages yet)"
    assert Store(home).names() == ["main"]
    assert history(home, "main") == []


def test_rm_several(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new a\n:new b\n:new c\n:rm a b\n")
    assert r.code == 0, r.err
    assert Store(home).names() == ["c", "main"]


def test_rename(server: FakeServer, home: Path) -> None:
    r = cli(server, "hello\n:rename renamed\n:ls\nagain\n")
    assert r.code == 0, r.err
    assert "renamed main to renamed" in notes(r)
    assert Store(home).names() == ["renamed"]
    assert [c for _, c, _ in history(home, "renamed")] == [
        "hello",
        "echo: hello",
        "again",
        "echo: again",
    ]
    r = cli(server, ":ls\n")
    assert ls_rows(r.out)[0][:2] == ["*", "renamed"]


def test_model(server: FakeServer, home: Path) -> None:
    r = cli(server, ":model\n:model openai:echo\nhi\n:model openai\n")
    assert r.code == 0, r.err
    assert notes(r) == [
        "main uses openai:gpt-4o-mini",
        "main uses openai:echo",
        "main uses openai:gpt-4o-mini",
    ]
    assert r.out == "echo: hi\n"
    assert server.requests[-1]["body"]["model"] == "echo"
    assert Store(home).load("main").data.model == "openai:gpt-4o-mini"
    r = cli(server, ":ls\n")
    assert ls_rows(r.out)[0][2] == "openai:gpt-4o-mini"


def test_system(server: FakeServer, home: Path) -> None:
    r = cli(server, ":system\n:system Answer in French.\n:system\n")
    assert r.out.splitlines() == ["(no system prompt)", "Answer in French.", "Answer in French."]
    assert Store(home).load("main").data.system == "Answer in French."


def test_history_n(server: FakeServer) -> None:
    r = cli(server, "one\ntwo\n")
    r = cli(server, ":history 1\n")
    assert r.out == "=== 4. assistant ===\necho: two\n"


def test_clear(server: FakeServer, home: Path) -> None:
    r = cli(server, "one\n:clear\n:history\ntwo\n")
    assert r.code == 0, r.err
    assert notes(r)[0].startswith("cleared main (2 messages; :restore main~")
    assert "(no messages yet)" in r.out
    assert [m["content"] for m in sent(server)] == ["two"]
    assert [c for _, c, _ in history(home, "main")] == ["two", "echo: two"]


def test_retry(server: FakeServer, home: Path) -> None:
    r = cli(server, "question\n:retry\n")
    assert r.code == 0, r.err
    assert r.out == "echo: question\necho: question\n"
    assert len(server.requests) == 2
    assert sent(server, 0) == sent(server, 1) == [{"role": "user", "content": "question"}]
    assert history(home, "main") == [
        ("user", "question", "done"),
        ("assistant", "echo: question", "done"),
    ]


def test_retry_with_nothing_to_retry(server: FakeServer) -> None:
    r = cli(server, ":retry\n")
    assert r.code == 1
    assert r.err == f"{ERR}nothing to retry: no prompt in this session yet\n"


def test_export(server: FakeServer, tmp_path: Path) -> None:
    r = cli(server, ":system be kind\nhello\n:export\n")
    assert r.code == 0, r.err
    text = r.out.split("echo: hello\n", 1)[1]
    assert text.startswith("# main\n")
    assert "- model: `openai:gpt-4o-mini`" in text
    assert "- system: be kind" in text
    assert "## user\n\n```text\nhello\n```\n" in text and "## assistant\n\necho: hello\n" in text
    path = tmp_path / "out.md"
    r = cli(server, f":export {path}\n")
    assert r.out == ""
    assert notes(r) == [f"exported main to {path}"]
    assert path.read_text() + "\n" == text


def test_help(server: FakeServer) -> None:
    r = cli(server, ":help\n:help ls\n:help :switch\n")
    assert r.code == 0, r.err
    for usage in (":new [NAME]", ":switch NAME", ":rm NAME...", ":export [PATH", ":quit"):
        assert usage in r.out
    assert ":ls [--tree] [--all]\n  list sessions" in r.out
    assert ":switch NAME[@N]\n  switch to a session" in r.out


def test_quit_stops_the_script(server: FakeServer) -> None:
    r = cli(server, ":q\nhello\n")
    assert r == Result(0, "", "")
    assert server.requests == []


# -- bad input ----------------------------------------------------------------------

BAD = [
    (":lss", "unknown command :lss; did you mean :ls?"),
    (":swich main", "did you mean :switch?"),
    (":frobnicate", "unknown command :frobnicate"),
    (":new main", "session 'main' already exists"),
    (":new ../x", "invalid session name '../x'"),
    (":new a/b", "invalid session name 'a/b'"),
    (":new .hidden", "invalid session name '.hidden'"),
    (":new con", "reserved"),
    (":new " + "x" * 65, "invalid session name"),
    (":new a\x00b", "invalid session name"),
    (":new x --bogus", "unknown option --bogus"),
    (":new x --model", "option --model needs a value"),
    (":new x --model nope:y", "unknown provider 'nope'"),
    (":new 'unclosed", "cannot parse arguments"),
    (":switch nope", "no session named 'nope'"),
    (":s nope", "no session named 'nope'"),
    (":switch", "usage: :switch NAME"),
    (":switch a b", "usage: :switch NAME"),
    (":rm nope", "no session named 'nope'"),
    (":rm main nope", "no session named 'nope'"),
    (":rm", "usage: :rm NAME..."),
    (":rename ../x", "invalid session name"),
    (":model nope:x", "unknown provider 'nope'"),
    (":history abc", "expected a positive number"),
    (":history 0", "expected a positive number"),
    (":ls extra", "usage: :ls"),
    (":clear now", "usage: :clear"),
    (":export /nonexistent-dir/deeper/x.md", "cannot write /nonexistent-dir/deeper/x.md"),
    (":send nope hi", "no session named 'nope'"),
    (":send main", "usage: :send NAME PROMPT"),
    (":ask main,nope hi", "no session named 'nope'"),
    (":ask", "usage: :ask"),
    (":wait nope", "no session named 'nope'"),
    (":cancel", "main has no reply running"),
    (":help nope", "unknown command :nope"),
    (" &", "the prompt is empty"),
]


def test_bad_commands_one_line_each_and_nothing_changed(server: FakeServer, home: Path) -> None:
    setup = cli(server, "hello\n")
    assert setup.code == 0, setup.err
    before = snapshot(home)
    script = "".join(line + "\n" for line, _ in BAD)
    r = cli(server, script)
    assert r.code == 1
    assert r.out == ""
    assert_errors_are_one_line_each(r, len(BAD))
    for line, (_, want) in zip(r.err.splitlines(), BAD, strict=True):
        assert want in line, (line, want)
    assert snapshot(home) == before
    assert len(server.requests) == 1  # no bad line reached the server


@pytest.mark.parametrize(("line", "want"), BAD)
def test_each_bad_command_alone(server: FakeServer, home: Path, line: str, want: str) -> None:
    cli(server, ":ls\n")
    before = snapshot(home)
    r = cli(server, line + "\n:ls\n")
    assert r.code == 1
    assert_errors_are_one_line_each(r, 1)
    assert want in r.err
    assert r.out.startswith("*  main")  # the script went on
    assert snapshot(home) == before


def test_script_goes_on_after_an_error(server: FakeServer) -> None:
    r = cli(server, ":lss\nhello\n")
    assert r.code == 1
    assert r.out == "echo: hello\n"
    assert r.err == f"{ERR}unknown command :lss; did you mean :ls?\n"


def test_exit_codes(server: FakeServer, home: Path) -> None:
    assert cli(server, ":ls\n").code == 0
    assert cli(server, "").code == 0
    assert cli(server, ":nope\n").code == 1
    r = cli(server, ":ls\n", "--session", "../x")
    assert r.code == 2
    assert r.err.startswith(ERR) and len(r.err.splitlines()) == 1
    r = run_proc(["--no-such-flag"])
    assert r.code == 2
    assert r.err.splitlines()[-1].startswith(ERR)
    assert "Traceback" not in r.err


def test_help_and_version_exit_0() -> None:
    r = run_proc(["--help"])
    assert r.code == 0
    assert "--base-url" in r.out and "examples:" in r.out and "exit status" in r.out
    r = run_proc(["--version"])
    assert r.code == 0 and r.out.startswith("copilot-repl ")


def test_subprocess_script_mode(server: FakeServer, home: Path) -> None:
    r = run_proc(["--base-url", server.url], ":new piped\nhello from a pipe\n:ls\n")
    assert r.code == 0, r.err
    assert r.out.splitlines()[0] == "echo: hello from a pipe"
    assert r.err == "copilot-repl: created piped (openai:gpt-4o-mini)\n"
    assert "\x1b" not in r.out


# -- several sessions ---------------------------------------------------------------


def test_send_and_wait(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new b\n:switch main\n:send b hello there\n:wait\n:ls\n")
    assert r.code == 0, r.err
    out = r.out.splitlines()
    assert out[:2] == ["=== b (openai:gpt-4o-mini) ===", "echo: hello there"]
    assert notes(r)[0] == "created b (openai:gpt-4o-mini)"
    assert history(home, "b")[-1] == ("assistant", "echo: hello there", "done")
    assert history(home, "main") == []
    rows = {row[1]: row for row in ls_rows("\n".join(out[2:]))}
    assert rows["main"][0] == "*" and rows["b"][:4] == [" ", "b", "openai:gpt-4o-mini", "2"]


def test_send_is_finished_at_end_of_input(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new b\n:switch main\n:send b later\n")
    assert r.code == 0, r.err
    assert "=== b (openai:gpt-4o-mini) ===\necho: later\n" in r.out
    assert history(home, "b")[-1][1] == "echo: later"


def test_background_prompt(server: FakeServer, home: Path) -> None:
    r = cli(server, "in the background &\n:wait\n")
    assert r.code == 0, r.err
    assert "echo: in the background" in r.out
    assert history(home, "main")[0][1] == "in the background"


def test_all(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new a --model openai:echo\n:all same question\n")
    assert r.code == 0, r.err
    assert r.out.splitlines() == [
        "=== a (openai:echo) ===",
        "echo: same question",
        "=== main (openai:gpt-4o-mini) ===",
        "echo: same question",
    ]
    for name in ("a", "main"):
        assert history(home, name)[-1] == ("assistant", "echo: same question", "done")
    assert sorted(r["body"]["model"] for r in server.requests) == ["echo", "gpt-4o-mini"]


def test_ask(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new a\n:new b\n:new c\n:ask a,b question\n")
    assert r.code == 0, r.err
    assert "=== a (openai:gpt-4o-mini) ===\necho: question\n" in r.out
    assert "=== b (openai:gpt-4o-mini) ===\necho: question\n" in r.out
    assert "=== c" not in r.out
    assert history(home, "c") == []


def test_ask_with_an_error_in_one_session(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new good\n:new bad --model openai:missing-model\n:ask good,bad hi\n:ls\n")
    assert r.code == 1
    assert "=== good (openai:gpt-4o-mini) ===\necho: hi\n" in r.out
    assert "=== bad (openai:missing-model) ===\n[failed: " in r.out
    assert_errors_are_one_line_each(r, 1)
    assert "missing-model" in r.err and "available: echo, gpt-4o-mini, slow" in r.err
    assert history(home, "good")[-1] == ("assistant", "echo: hi", "done")
    assert history(home, "bad") == [("user", "hi", "done")]


def test_requests_carry_no_key_without_one(server: FakeServer) -> None:
    cli(server, "hi\n")
    assert "authorization" not in server.requests[-1]["headers"]


def test_session_file_is_jsonl(server: FakeServer, home: Path) -> None:
    cli(server, "hi\n")
    lines = (home / "sessions" / "main.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["t"] for r in records] == ["session", "ev", "msg", "ev", "msg", "ev"]
    events = [r.get("type") or r["role"] for r in records[1:]]
    assert events == [
        "session.start",
        "user",
        "assistant.turn_start",
        "assistant",
        "assistant.turn_end",
    ]


# -- rough edges: spaces after commas, busy sessions, prefixes, names ------------------


def test_ask_accepts_a_space_after_the_comma(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new s3\n:ask main, s3 spaced question\n")
    assert r.code == 0, r.err
    assert "=== main (openai:gpt-4o-mini) ===\necho: spaced question\n" in r.out
    assert "=== s3 (openai:gpt-4o-mini) ===\necho: spaced question\n" in r.out


def test_a_backslash_before_a_final_ampersand_sends_the_ampersand(server: FakeServer) -> None:
    r = cli(server, "fish \\&\n")
    assert r == Result(0, "echo: fish &\n", "")
    assert sent(server)[-1]["content"] == "fish &"


def test_a_prompt_for_a_busy_session_waits_its_turn(server: FakeServer, home: Path) -> None:
    r = cli(server, "#delay=0.02 first one two three &\nsecond\n")
    assert r.code == 0, r.err
    assert [c for _, c, _ in history(home, "main")] == [
        "#delay=0.02 first one two three",
        "echo: first one two three",
        "second",
        "echo: second",
    ]
    # the background reply is printed too, before the one queued behind it
    assert r.out == ("=== main (openai:gpt-4o-mini) ===\necho: first one two three\necho: second\n")


def test_all_queues_behind_a_busy_session(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new b\n:s main\n#delay=0.03 slow one two &\n:all together\n")
    assert r.code == 0, r.err
    assert "=== main (openai:gpt-4o-mini) ===\necho: together\n" in r.out
    assert "=== b (openai:gpt-4o-mini) ===\necho: together\n" in r.out
    assert [c for _, c, _ in history(home, "main")][-2:] == ["together", "echo: together"]


def test_switch_takes_a_unique_prefix_and_suggests_a_near_name(server: FakeServer) -> None:
    r = cli(server, ":new review\n:new main2\n:s rev\n:model\n:s mai\n:s reviw\n")
    assert r.code == 1
    assert "review uses openai:gpt-4o-mini" in notes(r)
    assert errors(r) == [
        ERR + "'mai' could be main, main2; type more of it",
        ERR + "no session named 'reviw'; did you mean review?",
    ]


def test_rm_does_not_take_a_prefix(server: FakeServer, home: Path) -> None:
    r = cli(server, ":new review\n:rm rev\n")
    assert errors(r) == [ERR + "no session named 'rev'; did you mean review?"]
    assert "review" in Store(home).names()


def test_help_for_an_unknown_command_suggests_nothing_far_off(server: FakeServer) -> None:
    r = cli(server, ":? nosuch\n")
    assert errors(r) == [ERR + "unknown command :nosuch; :help lists them"]


def test_rename_to_its_own_name_is_no_error(server: FakeServer) -> None:
    r = cli(server, ":rename main\n")
    assert r.code == 0, r.err
    assert notes(r) == ["main is already called main"]


def test_rm_of_the_last_session_says_a_new_one_was_made(server: FakeServer) -> None:
    r = cli(server, "hi\n:rm main\n")
    assert r.code == 0, r.err
    [said] = notes(r)
    assert said.startswith("moved main to the trash")
    assert said.endswith("; no session left, so a new empty main")


def test_ls_sorts_names_naturally(server: FakeServer) -> None:
    r = cli(server, ":new sess-10\n:new sess-2\n:new sess-1\n:ls\n")
    assert [row[1] for row in ls_rows(r.out)] == ["main", "sess-1", "sess-2", "sess-10"]


def test_export_refuses_to_overwrite_without_force(server: FakeServer, tmp_path: Path) -> None:
    target = tmp_path / "out.md"
    target.write_text("precious")
    r = cli(server, f"hi\n:export {target}\n")
    assert r.code == 1
    assert errors(r) == [ERR + f"{target} already exists; :export {target} --force overwrites it"]
    assert target.read_text() == "precious"
    r = cli(server, f":export {target} --force\n")
    assert r.code == 0, r.err
    assert target.read_text().startswith("# main\n")


def test_export_to_a_directory_writes_name_md(server: FakeServer, tmp_path: Path) -> None:
    r = cli(server, f":new notes\nhi\n:export {tmp_path}\n")
    assert r.code == 0, r.err
    assert (tmp_path / "notes.md").read_text().startswith("# notes\n")
    assert f"exported notes to {tmp_path / 'notes.md'}" in notes(r)


def test_export_keeps_the_outline_when_a_prompt_has_markdown(
    server: FakeServer, tmp_path: Path
) -> None:
    prompt = '"""\n# not a heading of the export\n```\ncode ``` inside\n```\n"""\n'
    r = cli(server, f"{prompt}:export {tmp_path / 'x.md'}\n")
    assert r.code == 0, r.err
    from markdown_it import MarkdownIt

    tokens = MarkdownIt().parse((tmp_path / "x.md").read_text())
    headings = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["main", "user", "assistant"]
    fences = [t.content for t in tokens if t.type == "fence"]
    assert "# not a heading of the export\n```\ncode ``` inside\n```\n" in fences


def test_copy_in_script_mode_writes_the_clipboard_file(server: FakeServer, home: Path) -> None:
    r = cli(server, "one\ntwo\n:copy\n:copy 2\n:copy 3\n")
    assert r.code == 1
    assert notes(r) == [
        f"copied the last reply of main (9 characters) to {home / 'clipboard.txt'}",
        f"copied reply -2 of main (9 characters) to {home / 'clipboard.txt'}",
    ]
    assert (home / "clipboard.txt").read_text() == "echo: one"
    assert errors(r) == [ERR + "main has 2 replies; nothing to copy"]


def test_edit_needs_the_shell(server: FakeServer) -> None:
    r = cli(server, ":edit\n")
    assert errors(r) == [ERR + ':edit needs the interactive shell; a script uses a """ block']


def test_models_connection_error_is_the_send_line(server: FakeServer) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed again: nothing listens there
    url = f"http://127.0.0.1:{port}/v1"
    r = run_cli(["--base-url", url], ":models\nhi\n")
    [models_error, send_error] = errors(r)
    assert models_error.startswith(ERR + f"cannot connect to {url}")
    assert models_error == send_error


def test_a_damaged_last_session_does_not_stop_the_start(server: FakeServer, home: Path) -> None:
    assert cli(server, ":new good\nhello\n:new broken\n").code == 0
    (home / "sessions" / "broken.jsonl").write_text("")  # state.json names it
    r = cli(server, ":ls\nstill here\n")
    assert r.code == 0, r.err
    assert "cannot open broken" in r.err
    assert "echo: still here" in r.out
    assert history(home, "good")[-1] == ("assistant", "echo: still here", "done")
