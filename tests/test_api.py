"""The Copilot-SDK-shaped Python API, against the loopback server."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from fakeserver import FakeServer, Reply

from copilot_repl import CopilotClient
from copilot_repl.api.events import SessionEvent
from copilot_repl.api.turn import Turn, TurnState
from copilot_repl.errors import ReplError, SessionExists, SessionNotFound, UsageError
from copilot_repl.history.messages import SessionData
from copilot_repl.history.store import Store
from copilot_repl.providers import priority


def client_for(server: FakeServer, home: Path, **kw: object) -> CopilotClient:
    return CopilotClient(data_dir=str(home), base_url=server.url, **kw)


async def test_recipe_runs_as_written(server: FakeServer, home: Path) -> None:
    client = client_for(server, home)
    await client.start()
    s1 = await client.create_session()
    s2 = await client.create_session({"session_id": "user-123-chat"})
    s3 = await client.create_session({"model": "openai:echo"})
    await s1.send({"prompt": "You are helping with a Python project"})
    reply = await s1.send_and_wait({"prompt": "How do I create a virtual environment?"})
    assert reply is not None
    assert reply.data.content == "echo: How do I create a virtual environment?"
    assert s2.session_id == "user-123-chat"
    assert s3.model == "openai:echo"
    infos = await client.list_sessions()
    assert {i["session_id"] for i in infos} == {s1.session_id, "user-123-chat", s3.session_id}
    times = [i["modified_time"] for i in infos]
    assert times == sorted(times, reverse=True)
    assert infos[0]["session_id"] == s1.session_id  # the one that just talked
    await client.delete_session("user-123-chat")
    assert not (home / "sessions" / "user-123-chat.jsonl").exists()
    await s1.destroy()
    await client.stop()
    # the REPL sees what the API made, and the other way round
    listed = await asyncio.to_thread(run_cli, ["--base-url", server.url], ":ls\n")
    assert listed.code == 0
    assert s1.session_id in listed.out and s3.session_id in listed.out
    assert "user-123-chat" not in listed.out


async def test_history_is_sent_and_saved(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="h", system_message={"content": "Be brief."})
        await s.send_and_wait("one")
        await s.send_and_wait(prompt="two")
    body = server.requests[-1]["body"]
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert body["messages"][0]["content"] == "Be brief."
    lines = (home / "sessions" / "h.jsonl").read_text().splitlines()
    header = json.loads(lines[0])
    assert header["t"] == "session" and header["schema"] == 2
    records = [json.loads(x) for x in lines[1:]]
    roles = [r["role"] for r in records if r["t"] == "msg"]
    assert roles == ["user", "assistant", "user", "assistant"]
    # the event log: the other non-ephemeral events, saved as they happened
    kinds = [r["type"] for r in records if r["t"] == "ev"]
    assert kinds == ["session.start", *["assistant.turn_start", "assistant.turn_end"] * 2]


async def test_events_stream_in_order(server: FakeServer, home: Path) -> None:
    server.queue(Reply(deltas=["d", "e"]))
    server.queue(Reply(deltas=["a", "b", "c"]))
    async with client_for(server, home) as client:
        quiet = await client.create_session()
        heard: list[SessionEvent] = []
        quiet.on(heard.append)
        await quiet.send_and_wait("no streaming")
        s = await client.create_session(streaming=True)
        seen: list[SessionEvent] = []
        s.on(seen.append)
        reply = await s.send_and_wait("x")
    # as in the SDK: deltas only with streaming on
    assert "assistant.message_delta" not in [e.type for e in heard]
    assert "assistant.message" in [e.type for e in heard]
    shown = ("assistant.message_delta", "session.idle")  # ephemeral, as on the SDK
    types = [e.type for e in seen if not e.ephemeral or e.type in shown]
    assert types[:2] == ["user.message", "assistant.turn_start"]
    assert [e.data.delta_content for e in seen if e.type == "assistant.message_delta"] == [
        "a",
        "b",
        "c",
    ]
    assert types[-3:] == ["assistant.message", "assistant.turn_end", "session.idle"]
    assert reply is not None and reply.data.content == "abc"


async def test_three_sessions_at_once_get_their_own_replies(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        sessions = [await client.create_session(session_id=f"p{i}") for i in range(3)]
        replies = await asyncio.gather(
            *(s.send_and_wait(f"question {i} #delay=0.01") for i, s in enumerate(sessions))
        )
    for i, (s, r) in enumerate(zip(sessions, replies, strict=True)):
        assert r is not None and r.data.content == f"echo: question {i}"
        assert s.messages[-1].content == f"echo: question {i}"


async def test_options_are_checked(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        with pytest.raises(TypeError, match="colour"):
            await client.create_session({"colour": "red"})
        s = await client.create_session(session_id="dup")
        with pytest.raises(SessionExists):
            await client.create_session(session_id="dup")
        with pytest.raises(TypeError, match="colour"):
            await s.send({"prompt": "x", "colour": "red"})
        with pytest.raises(UsageError, match="attachment"):
            await s.send({"prompt": "x", "attachments": [{"type": "image", "path": "a.png"}]})
        with pytest.raises(TypeError, match="Tool objects"):
            await client.create_session(tools=[object()])
        with pytest.raises(UsageError, match="MCP servers"):
            await client.create_session(mcp_servers={"fs": {"command": "x"}})
        with pytest.raises(UsageError):
            await s.send("   ")
        with pytest.raises(SessionNotFound):
            await client.resume_session("nope")
    with pytest.raises(TypeError, match="bogus"):
        CopilotClient(bogus=1)


async def test_resume_and_aliases(server: FakeServer, home: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[aliases]\nclaude-sonnet-4 = "openai:echo"\n')
    async with client_for(server, home, config_path=str(cfg)) as client:
        s = await client.create_session({"session_id": "r", "model": "claude-sonnet-4"})
        assert s.model == "openai:echo"
        await s.send_and_wait("remember me")
    async with client_for(server, home, config_path=str(cfg)) as client:
        again = await client.resume_session("r")
        assert [m.content for m in again.messages] == ["remember me", "echo: remember me"]


async def test_failed_turn_raises_and_keeps_prompt(server: FakeServer, home: Path) -> None:
    server.queue(Reply(status=401, message="Incorrect API key provided"))
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="f")
        with pytest.raises(ReplError, match="authentication failed"):
            await s.send_and_wait("hello")
        assert s.state == "failed"
        assert [m.role for m in s.messages] == ["user"]


async def test_send_and_wait_timeout(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        s = await client.create_session()
        with pytest.raises(TimeoutError):
            await s.send_and_wait("slow #first_delay=5", timeout=0.2)
        await s.abort()
        assert s.messages[-1].role == "user"


async def test_eight_sessions_at_once_no_lost_or_mixed_tokens(
    server: FakeServer, home: Path
) -> None:
    async with client_for(server, home) as client:
        sessions = [await client.create_session(session_id=f"s{i}") for i in range(8)]
        prompts = [" ".join(f"s{i}w{j}" for j in range(60)) + " #delay=0.002" for i in range(8)]
        replies = await asyncio.gather(
            *(s.send_and_wait(p) for s, p in zip(sessions, prompts, strict=True))
        )
    assert len(server.requests) == 8
    for i, (s, r) in enumerate(zip(sessions, replies, strict=True)):
        want = "echo: " + " ".join(f"s{i}w{j}" for j in range(60))
        assert r is not None and r.data.content == want
        stored = [
            json.loads(x) for x in (home / "sessions" / f"s{i}.jsonl").read_text().splitlines()
        ]
        assert [x["content"] for x in stored if x.get("role") == "assistant"] == [want]
        assert s.messages[-1].content == want


async def test_byok_provider_key_is_checked_and_never_shown(server: FakeServer, home: Path) -> None:
    key = "sk-" + "x" * 40 + "\r"
    async with client_for(server, home) as client:
        with pytest.raises(ReplError) as failed:
            await client.create_session(provider={"base_url": server.url, "api_key": key})
    message = str(failed.value)
    assert "provider's api_key" in message and "control character" in message
    assert key.strip() not in message
    assert server.requests == []  # nothing was sent with it


async def test_byok_provider_answers(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        s = await client.create_session(
            provider={"type": "openai", "base_url": server.url, "api_key": "sk-good"},
            model="echo",
        )
        reply = await s.send_and_wait("over byok")
    assert reply is not None and reply.data.content == "echo: over byok"
    assert server.requests[-1]["headers"]["authorization"] == "Bearer sk-good"
    assert "sk-good" not in (home / "sessions" / f"{s.session_id}.jsonl").read_text()


async def test_a_price_table_gives_each_reply_a_cost(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[prices]\n"openai:gpt-4o-mini" = [1.0, 2.0]\n')
    async with client_for(server, home, config_path=str(cfg)) as client:
        s = await client.create_session(session_id="priced")
        turn = await s.submit("what does it cost")
        await turn.wait()
    usage = {"in": turn.input_tokens, "out": turn.tokens}
    assert usage["in"] and usage["out"] and not turn.tokens_counted
    expected = round((usage["in"] * 1.0 + usage["out"] * 2.0) / 1_000_000, 6)
    lines = (home / "sessions" / "priced.jsonl").read_text().splitlines()
    saved = [r for r in map(json.loads, lines) if r["t"] == "msg"]
    assert saved[-1]["figures"]["cost"] == expected == turn.figures()["cost"]


def test_a_wrong_price_is_one_config_line(tmp_path: Path) -> None:
    from copilot_repl.config import load_config
    from copilot_repl.errors import ConfigError

    cfg = tmp_path / "c.toml"
    cfg.write_text('[prices]\n"openai:gpt-4o-mini" = "cheap"\n')
    with pytest.raises(ConfigError, match=r"dollars per million tokens, e\.g\."):
        load_config(config_path=cfg, data_dir=tmp_path)


async def test_a_reply_cut_by_the_server_is_marked(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="cut")
        reply = await s.send_and_wait("long story #finish=length")
        await s.send_and_wait("short one")
    assert reply is not None and reply.data.status == "truncated"
    statuses = [m.status for m in s.messages if m.role == "assistant"]
    assert statuses == ["truncated", "done"]
    saved = [json.loads(x) for x in (home / "sessions" / "cut.jsonl").read_text().splitlines()]
    replies = [r for r in saved if r.get("role") == "assistant"]
    assert replies[0]["status"] == "truncated"
    assert replies[0]["figures"]["finish_reason"] == "length"


async def test_session_metadata_start_time_is_when_it_was_created(
    server: FakeServer, home: Path
) -> None:
    store = Store(home)
    store.create(SessionData(name="old", model="openai:echo", created=1000.0))
    store.append("old", {"t": "msg", "role": "user", "content": "hi", "ts": 2000.0})
    async with client_for(server, home) as client:
        for _ in range(2):  # read from the file, then from the summary cache
            (info,) = await client.list_sessions()
            assert info.start_time == datetime.fromtimestamp(1000.0, UTC)
            assert info.modified_time > info.start_time
            got = await client.get_session_metadata("old")
            assert got is not None and got.start_time == info.start_time
    # subscriptable as the SDK recipe writes it: the fields, nothing else
    assert info["start_time"] == info.start_time and info.get("model") == "openai:echo"
    assert info.get("to_dict") is None and list(info.keys())[0] == "session_id"
    with pytest.raises(KeyError):
        info["to_dict"]


@pytest.mark.parametrize(
    ("reply", "status", "error_type"),
    [
        (Reply(status=401, message="Incorrect API key provided"), 401, "authentication"),
        (Reply(status=400, message="maximum context length exceeded"), 400, "context_limit"),
        (Reply(status=418, message="a teapot"), 418, "query"),
    ],
)
async def test_session_error_carries_the_http_status(
    server: FakeServer, home: Path, reply: Reply, status: int, error_type: str
) -> None:
    server.queue(reply)
    error = await failed_turn_error(client_for(server, home))
    assert (error.status_code, error.error_type) == (status, error_type)


async def test_session_error_without_an_answer_has_no_status(home: Path) -> None:
    # nothing listens on port 9: no HTTP status at all
    client = CopilotClient(data_dir=str(home), base_url="http://127.0.0.1:9/v1")
    assert (await failed_turn_error(client)).status_code is None


async def failed_turn_error(client: CopilotClient) -> Any:
    """The data of the ``session.error`` event of a turn that fails."""
    async with client:
        s = await client.create_session()
        seen: list[SessionEvent] = []
        s.on(seen.append)
        with pytest.raises(ReplError):
            await s.send_and_wait("hello")
    (error,) = [e.data for e in seen if e.type == "session.error"]
    return error


async def test_a_send_leaves_before_the_streaming_replies_take_more(
    server: FakeServer, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 26: one event loop serves every session; a prompt sent while
    other replies stream has its request written before they process another
    piece (providers/priority.py), instead of a step behind each of them for
    each of its dozen loop iterations (1.6 s with 99 others)."""
    monkeypatch.setattr(priority, "MAX_HOLD", 600.0)  # a slow machine does not end it
    async with client_for(server, home) as client:
        busy = [
            await client.create_session(session_id=f"busy{i}", streaming=True) for i in range(3)
        ]
        probe = await client.create_session(session_id="probe")
        sending: list[Turn] = []
        during: list[str] = []
        after: list[str] = []
        streaming = asyncio.Event()

        def on(event: SessionEvent) -> None:
            if event.type != "assistant.message_delta":
                return
            streaming.set()
            hold = sending[0].hold if sending else None
            if hold is not None:
                (after if hold.done else during).append(event.data.delta_content)

        for s in busy:
            s.on(on)
        waits = [asyncio.ensure_future(s.send_and_wait("go #deltas=20000", 120)) for s in busy]
        await streaming.wait()
        turn = await probe.submit("one more question")
        sending.append(turn)
        await turn.wait()
        await asyncio.gather(*waits)
    assert turn.state is TurnState.DONE and turn.hold is not None and turn.hold.done
    assert after, "the others had ended before it was sent: nothing shown"
    assert during == []
