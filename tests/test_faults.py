"""The fault matrix against the loopback server: one clear line, nothing lost."""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest
from conftest import Result, run_cli, run_proc, spawn
from fakeserver import ESCAPE_TEXT, HUGE_DELTA_CHARS, HUGE_DELTAS, FakeServer, Reply

from copilot_repl.history.store import Store

ERR = "copilot-repl: error: "
KEY = "sk-test-CANARY-9f8e7d6c5b4a3210"


def config(tmp_path: Path, url: str, **settings: object) -> Path:
    """A config file pointing the openai provider at ``url`` with fast retries."""
    values = {"max_retries": 2, "read_timeout": 10.0, "connect_timeout": 2.0, **settings}
    lines = ['model = "openai:gpt-4o-mini"', "", "[providers.openai]", f'base_url = "{url}"']
    lines += [f"{key} = {value!r}" for key, value in values.items()]
    path = tmp_path / "faults.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run(
    server: FakeServer,
    tmp_path: Path,
    script: str,
    *args: str,
    env: dict[str, str] | None = None,
    **settings: object,
) -> Result:
    path = config(tmp_path, server.url, **settings)
    return run_cli(["--config", str(path), *args], script, env=env)


def one_error(r: Result) -> str:
    """The single error line (status lines such as "main uses ..." aside)."""
    assert "Traceback" not in r.err
    errs = [line for line in r.err.splitlines() if line.startswith(ERR)]
    assert len(errs) == 1, r.err
    return errs[0][len(ERR) :]


def history(home: Path, name: str = "main") -> list[tuple[str, str, str]]:
    loaded = Store(home).load(name)
    assert loaded.warnings == []
    return [(m.role, m.content, m.status) for m in loaded.data.messages]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- HTTP status faults -----------------------------------------------------------


def test_401_names_the_env_var_and_is_not_retried(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    r = run(
        server, tmp_path, "hello\n", "--api-key-env", "MY_TEST_KEY", env={"MY_TEST_KEY": "bad-key"}
    )
    assert r.code == 1
    msg = one_error(r)
    assert msg == (
        f"authentication failed for openai ({server.url}): Incorrect API key provided; "
        "set MY_TEST_KEY"
    )
    assert len(server.requests) == 1
    assert history(home) == [("user", "hello", "done")]  # the prompt is kept


def test_403_names_the_default_env_var(server: FakeServer, tmp_path: Path) -> None:
    server.queue(Reply(status=403, message="Project lacks access"))
    r = run(server, tmp_path, "hello\n")
    assert r.code == 1
    msg = one_error(r)
    assert "authentication failed for openai" in msg
    assert msg.endswith("Project lacks access; set OPENAI_API_KEY")
    assert len(server.requests) == 1


def test_404_lists_the_available_models(server: FakeServer, tmp_path: Path) -> None:
    r = run(server, tmp_path, ":model openai:missing-model\nhello\n:model openai:echo\nagain\n")
    assert r.code == 1
    msg = one_error(r)
    assert "does not know the model 'missing-model'" in msg
    assert "(available: echo, gpt-4o-mini, slow)" in msg
    assert r.out.splitlines()[-1] == "echo: again"  # the REPL goes on


def test_429_waits_and_retries_then_succeeds(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    server.queue(Reply(status=429, retry_after=0.1), Reply(text="finally an answer"))
    r = run(server, tmp_path, "hello\n")
    assert r.code == 0, r.err
    assert r.out == "finally an answer\n"
    assert "rate limited, retrying in 0.1 s (1/2)" in r.err
    assert ERR not in r.err
    assert len(server.requests) == 2
    assert history(home)[-1] == ("assistant", "finally an answer", "done")


def test_429_gives_up_after_the_bounded_retries(server: FakeServer, tmp_path: Path) -> None:
    server.queue(*[Reply(status=429, retry_after=0.01, message="slow down")] * 5)
    r = run(server, tmp_path, "hello\n", max_retries=2)
    assert r.code == 1
    assert one_error(r) == "openai is rate limiting requests: slow down"
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried_then_succeeds(server: FakeServer, tmp_path: Path, status: int) -> None:
    server.queue(Reply(status=status, retry_after=0.01), Reply(text="recovered"))
    r = run(server, tmp_path, "hello\n")
    assert r.code == 0, r.err
    assert r.out == "recovered\n"
    assert "server error, retrying" in r.err
    assert len(server.requests) == 2


def test_500_gives_a_clear_error_after_the_retries(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    r = run(server, tmp_path, "hello #status=500 #retry_after=0.01\nnext\n")
    assert r.code == 1
    assert one_error(r) == "openai answered HTTP 500: scripted failure 500"
    assert len(server.requests) == 4  # three for the failing turn, one for "next"
    assert r.out == "echo: next\n"
    assert history(home)[0] == ("user", "hello #status=500 #retry_after=0.01", "done")


def test_500_uses_backoff_without_retry_after(server: FakeServer, tmp_path: Path) -> None:
    r = run(server, tmp_path, "hello #status=503\n", max_retries=1)
    assert r.code == 1
    assert "retrying in 0.5 s (1/1)" in r.err
    assert one_error(r) == "openai answered HTTP 503: scripted failure 503"
    assert len(server.requests) == 2


def test_other_4xx_shows_the_server_message(server: FakeServer, tmp_path: Path) -> None:
    server.queue(Reply(status=400, message="temperature must be at most 2"))
    r = run(server, tmp_path, "hello\n")
    assert one_error(r) == "openai answered HTTP 400: temperature must be at most 2"
    assert len(server.requests) == 1


def test_context_too_long(server: FakeServer, tmp_path: Path) -> None:
    server.queue(Reply(status=400, message="This model's maximum context length is 8192 tokens"))
    r = run(server, tmp_path, "hello\n")
    assert one_error(r).startswith("the conversation is too long for gpt-4o-mini")


# -- broken streams ---------------------------------------------------------------


def test_drop_mid_stream_keeps_the_partial_marked(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    r = run(server, tmp_path, "story #deltas=20 #fault=drop\n")
    assert r.code == 1
    assert "dropped in the middle of the reply" in one_error(r)
    assert len(server.requests) == 1  # content had arrived: never retried
    (user, reply) = history(home)
    assert user == ("user", "story #deltas=20 #fault=drop", "done")
    assert reply[0] == "assistant" and reply[2] == "interrupted"
    assert reply[1] and r.out == reply[1] + "\n"
    r = run(server, tmp_path, ":history\n")
    assert "=== 2. assistant [interrupted] ===" in r.out


def test_partial_reply_is_sent_back_next_turn(server: FakeServer, tmp_path: Path) -> None:
    run(server, tmp_path, "story #deltas=20 #fault=drop\n")
    partial = history(Path(os.environ["COPILOT_REPL_HOME"]))[1][1]
    r = run(server, tmp_path, "go on\n")
    assert r.code == 0, r.err
    assert server.requests[-1]["body"]["messages"][1] == {"role": "assistant", "content": partial}


def test_no_finish_is_treated_as_interrupted(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    r = run(server, tmp_path, "hello there #fault=no_finish\n")
    assert r.code == 1
    assert "ended before the reply was complete" in one_error(r)
    assert history(home)[-1] == ("assistant", "echo: hello there", "interrupted")
    assert len(server.requests) == 1


def test_malformed_sse(server: FakeServer, tmp_path: Path, home: Path) -> None:
    r = run(server, tmp_path, "one two three four #fault=malformed\n")
    assert r.code == 1
    assert one_error(r).startswith("malformed data in the stream from openai: '{not json'")
    assert history(home)[-1] == ("assistant", "echo: one ", "interrupted")
    assert len(server.requests) == 1


def test_error_object_inside_the_stream(server: FakeServer, tmp_path: Path, home: Path) -> None:
    r = run(server, tmp_path, "one two three #fault=error_in_stream\n")
    assert r.code == 1
    assert one_error(r) == "openai reported an error in the middle of the reply: model overloaded"
    assert history(home)[-1] == ("assistant", "echo: one ", "interrupted")


def test_html_page_with_status_200(server: FakeServer, tmp_path: Path, home: Path) -> None:
    r = run(server, tmp_path, "hello #fault=html200\n")
    assert r.code == 1
    msg = one_error(r)
    assert "answered with an HTML page instead of an event stream" in msg
    assert "wrong --base-url?" in msg
    assert history(home) == [("user", "hello #fault=html200", "done")]
    assert r.out == ""


def test_silent_stream_is_cut_after_the_read_timeout(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    r = run(server, tmp_path, "one two three #fault=silent\nafter\n", read_timeout=0.5)
    assert r.code == 1
    msg = one_error(r)
    assert msg.startswith("openai sent nothing for 0.5 s; the reply was cut")
    assert "read_timeout" in msg
    msgs = history(home)
    assert msgs[1] == ("assistant", "echo: one ", "interrupted")
    assert msgs[-1] == ("assistant", "echo: after", "done")


def test_huge_reply(server: FakeServer, tmp_path: Path, home: Path) -> None:
    r = run(server, tmp_path, "big #fault=huge\n:ls\n", max_reply_chars=20_000_000)
    assert r.code == 0, r.err
    size = HUGE_DELTAS * HUGE_DELTA_CHARS
    reply = history(home)[-1]
    assert reply[2] == "done" and len(reply[1]) == size
    assert len(r.out) > size and r.out.splitlines()[-1].split()[3] == "2"


def test_invalid_utf8(server: FakeServer, tmp_path: Path, home: Path) -> None:
    r = run(server, tmp_path, "some words here #fault=invalid_utf8\n")
    assert r.code == 0, r.err
    assert "\ufffd" in r.out
    assert r.out.startswith("echo: ") and r.out.endswith("here\n")
    assert history(home)[-1][2] == "done"


def test_escape_sequences_never_reach_stdout_raw(server: FakeServer, tmp_path: Path) -> None:
    script = "x #fault=escape\n:history\n:export\n:new b\n:ask main,b y #fault=escape\n"
    r = run(server, tmp_path, script)
    assert r.code == 0, r.err
    assert "\x1b" not in r.out and "\x07" not in r.out and "\x9b" not in r.out
    assert "[bold red]not markup[/]" in r.out  # markup is text, shown literally
    assert r.out.count("Escapes: clear ") == 5


def test_escape_in_an_error_message_is_cleaned(server: FakeServer, tmp_path: Path) -> None:
    server.queue(
        Reply(status=400, message="bad \x1b[2J\x1b]52;c;SGk=\x07 thing"),
        Reply(text="fine"),
        Reply(status=400, message="worse \x1b[2J thing"),
    )
    r = run(server, tmp_path, "hello\n:new b\n:ask main,b again\n")
    assert r.code == 1
    for text in (r.out, r.err):
        assert "\x1b" not in text and "\x07" not in text


def test_escape_in_the_saved_reply_stays_verbatim_on_disk(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    run(server, tmp_path, "x #fault=escape\n")
    assert history(home)[-1][1] == ESCAPE_TEXT


# -- network --------------------------------------------------------------------


def test_connection_refused_names_the_url(tmp_path: Path, home: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    path = config(tmp_path, url)
    r = run_cli(["--config", str(path)], "hello\n:ls\n")
    assert r.code == 1
    msg = one_error(r)
    assert msg.startswith(f"cannot connect to {url} (")
    assert msg.endswith("check --base-url or the provider config")
    assert r.out.startswith("*  main")
    assert history(home) == [("user", "hello", "done")]


def test_connection_refused_with_base_url_flag(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    r = run_cli(["--base-url", url], "hello\n")
    assert r.code == 1
    assert url in one_error(r)


def test_plain_http_to_another_host_with_a_key_is_refused(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    url = server.url.replace("127.0.0.1", "0.0.0.0")  # not loopback by name
    env = {"OPENAI_API_KEY": KEY}
    r = run_cli(["--base-url", url], "hello\nagain\n", env=env)
    assert r.code == 1
    lines = r.err.splitlines()
    assert len(lines) == 2
    for line in lines:
        assert line == (
            f"{ERR}refusing to send an API key over plain http to 0.0.0.0; "
            "use https or pass --allow-insecure"
        )
    assert server.requests == []
    r = run_cli(["--base-url", url, "--allow-insecure"], ":history\nthird\n", env=env)
    assert r.code == 0, r.err
    assert r.out.endswith("echo: third\n")
    assert server.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"


def test_plain_http_without_a_key_is_fine(server: FakeServer, tmp_path: Path) -> None:
    url = server.url.replace("127.0.0.1", "0.0.0.0")
    r = run_cli(["--base-url", url], "hello\n")
    assert r == Result(0, "echo: hello\n", "")


def test_loopback_http_with_a_key_is_allowed(server: FakeServer) -> None:
    r = run_cli(["--base-url", server.url], "hello\n", env={"OPENAI_API_KEY": KEY})
    assert r.code == 0, r.err
    assert server.requests[-1]["headers"]["authorization"] == f"Bearer {KEY}"


# -- process faults -------------------------------------------------------------


def test_kill_9_while_streaming_keeps_earlier_messages_and_the_partial(
    server: FakeServer, home: Path
) -> None:
    run_proc(["--base-url", server.url], "before\n")
    proc = spawn(["--base-url", server.url], b"long story #deltas=2000 #delay=0.005\n")
    path = home / "sessions" / "main.jsonl"
    deadline = time.monotonic() + 30
    while b'"t":"part"' not in path.read_bytes():
        assert time.monotonic() < deadline, "no partial reply was saved while streaming"
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    msgs = history(home)
    assert msgs[:3] == [
        ("user", "before", "done"),
        ("assistant", "echo: before", "done"),
        ("user", "long story #deltas=2000 #delay=0.005", "done"),
    ]
    assert msgs[3][0] == "assistant" and msgs[3][2] == "interrupted"
    assert msgs[3][1].startswith("## Section 1")
    r = run_proc(["--base-url", server.url], ":ls\n:history 1\nnext\n")
    assert r.code == 0, r.err
    assert r.out.split()[:4] == ["*", "main", "openai:gpt-4o-mini", "4"]
    assert "=== 4. assistant [interrupted] ===\n## Section 1" in r.out
    assert history(home)[-1] == ("assistant", "echo: next", "done")


# -- security -------------------------------------------------------------------

SECURITY_SCRIPT = """\
hello
:new second --system 'keep secrets'
second prompt
:send main background prompt
:wait
:all to everyone
:ask main,second to both
:retry
:history
:ls
:model openai:missing-model
unknown model prompt
:model openai:gpt-4o-mini
drop #deltas=10 #fault=drop
server error #status=500 #retry_after=0.01
rate limit #status=429 #retry_after=0.01
malformed #fault=malformed
in stream #fault=error_in_stream
html #fault=html200
escape #fault=escape
bad utf8 #fault=invalid_utf8
no finish #fault=no_finish
:lss
:new ../evil
:switch nowhere
:export
:export {export}
:rename renamed
:system new system prompt
:clear
after clear
:rm second
:help
"""


def test_the_api_key_never_reaches_disk_or_output(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    env = {"OPENAI_API_KEY": KEY, "OTHER_KEY": KEY}
    export = home / "exported.md"
    script = SECURITY_SCRIPT.format(export=export)
    results = [
        run(server, tmp_path, script, env=env, max_retries=1),
        run_cli(["--base-url", server.url], "plain run\n:export\n", env=env),
        run_cli(["--base-url", server.url, "--api-key-env", "OTHER_KEY"], "other var\n", env=env),
        run_cli(["--base-url", f"http://127.0.0.1:{free_port()}/v1"], "refused\n", env=env),
        run_cli(["--base-url", server.url.replace("127.0.0.1", "0.0.0.0")], "insecure\n", env=env),
        run_cli(["--model", "nope:x"], "", env=env),
        run_proc(["--help"], env=env),
        run_proc(["--base-url", server.url], "subprocess\n:ls\n", env=env),
        run_proc(["--base-url", server.url, "--bogus"], "", env=env),
    ]
    assert results[0].code == 1  # the faults did fail
    assert export.exists()
    assert any(
        r["headers"].get("authorization") == f"Bearer {KEY}" for r in server.requests
    )  # the key was really in use
    for r in results:
        assert KEY not in r.out and KEY not in r.err
        assert KEY[8:] not in r.out + r.err
    files = [p for p in home.rglob("*") if p.is_file()]
    assert len(files) >= 4
    for path in files:
        data = path.read_bytes()
        assert KEY.encode() not in data, path
        assert KEY[8:].encode() not in data, path
    assert KEY not in (tmp_path / "faults.toml").read_text()


def test_config_file_never_holds_the_key_itself(server: FakeServer, tmp_path: Path) -> None:
    r = run(server, tmp_path, "hello\n", env={"OPENAI_API_KEY": KEY})
    assert r.code == 0, r.err
    for path in Path(os.environ["COPILOT_REPL_HOME"]).rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(errors="replace")
            if path.suffix == ".jsonl":
                for line in path.read_text().splitlines():
                    assert "Bearer" not in json.dumps(json.loads(line))


# -- servers and secrets: keys, bidi controls, endless replies, resets -----------------


@pytest.mark.parametrize("bad", ["\r", "\n", "\r\n", "\u200b"], ids=["CR", "LF", "CRLF", "ZWSP"])
@pytest.mark.parametrize("script", ["hello\n", ":models\n"], ids=["prompt", "models"])
def test_a_key_with_a_control_character_is_named_never_printed(
    server: FakeServer, tmp_path: Path, bad: str, script: str
) -> None:
    key = KEY[:20] + bad + KEY[20:] if bad == "\u200b" else KEY + bad
    r = run(server, tmp_path, script, env={"OPENAI_API_KEY": key})
    assert r.code == 1
    msg = one_error(r)
    assert msg.startswith("OPENAI_API_KEY contains a control character (U+")
    assert "internal error" not in r.err
    assert KEY[:12] not in r.out + r.err and KEY[20:] not in r.out + r.err
    assert server.requests == [] and server.models_requests == 0


def test_models_that_cannot_connect_says_so_like_a_send(tmp_path: Path) -> None:
    url = f"http://alice:hunter2pw@127.0.0.1:{free_port()}/v1"
    r = run_cli(["--config", str(config(tmp_path, url))], ":models\n")
    assert r.code == 1
    msg = one_error(r)
    assert msg.startswith("cannot connect to http://[redacted]@127.0.0.1:")
    assert msg.endswith("check --base-url or the provider config")
    assert "hunter2pw" not in r.out + r.err


def test_bidi_controls_in_a_reply_are_shown_on_stdout(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    text = "access = 'user\u202e \u2066// admin\u2069\u2066'"
    server.queue(Reply(text=text))
    r = run(server, tmp_path, "hello\n")
    assert r.code == 0, r.err
    assert r.out == ("access = 'user⟦U+202E⟧ ⟦U+2066⟧// admin⟦U+2069⟧⟦U+2066⟧'\n")
    assert history(home)[-1][1] == text  # kept verbatim on disk


def test_an_endless_reply_stops_at_max_reply_chars_and_is_kept(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    server.queue(Reply(fault="endless"))
    r = run(server, tmp_path, "go\nafter\n", max_reply_chars=50_000)
    assert r.code == 1
    assert one_error(r) == (
        "the reply from openai passed 50,000 characters and was cut "
        "(max_reply_chars in [providers.openai])"
    )
    msgs = history(home)
    assert msgs[1][0] == "assistant" and msgs[1][2] == "interrupted"
    assert len(msgs[1][1]) == 50_000
    assert msgs[-1] == ("assistant", "echo: after", "done")


def test_a_stream_of_keep_alives_hits_the_first_token_timeout(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    server.queue(Reply(fault="keepalive"))
    r = run(server, tmp_path, "go\n", first_token_timeout=1.0, read_timeout=3.0)
    assert r.code == 1
    assert one_error(r) == (
        "openai sent no reply within 1 s (first_token_timeout in the provider config)"
    )
    assert history(home) == [("user", "go", "done")]


def test_a_reset_before_the_reply_is_retried(server: FakeServer, tmp_path: Path) -> None:
    server.queue(Reply(fault="reset_before_content"), Reply(text="second try"))
    r = run(server, tmp_path, "go\n")
    assert r.code == 0, r.err
    assert r.out == "second try\n"
    assert "connection closed, retrying in 0.5 s (1/2)" in r.err
