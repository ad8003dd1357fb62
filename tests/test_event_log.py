"""The session's event log is its history, as on the SDK: every
non-ephemeral event saved as it happens with its id, timestamp and parent;
``get_events()`` returns it with the ids seen live; an aborted reply is not
sent to the model again; files of schema 1 still load (synthesised events)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from fakeserver import FakeServer, Reply

from copilot_repl import CopilotClient
from copilot_repl.api.events import SessionEvent
from copilot_repl.api.history_events import history_events, last_event_id
from copilot_repl.history.log import Log
from copilot_repl.history.messages import LoggedEvent, Message, SessionData


def client_for(server: FakeServer, home: Path, **kw: object) -> CopilotClient:
    return CopilotClient(data_dir=str(home), base_url=server.url, **kw)


def chained(events: list[SessionEvent]) -> list[str]:
    """What is wrong with the parent chain (empty: each event's parent is the
    newest non-ephemeral event before it, the first has none)."""
    wrong, last = [], None
    for e in events:
        if e.parent_id != last:
            wrong.append(f"{e.type}: parent {e.parent_id}, expected {last}")
        if not e.ephemeral:
            last = e.id
    return wrong


async def test_live_events_chain_and_get_events_returns_them_with_the_same_ids(
    server: FakeServer, home: Path
) -> None:
    async with client_for(server, home) as client:
        seen: list[SessionEvent] = []
        s = await client.create_session(session_id="log", on_event=seen.append, streaming=True)
        await s.send_and_wait("one")
        await s.send_and_wait("two")
        saved = await s.get_events()
        again = await s.get_events()
    assert chained(seen) == []
    idle = [e for e in seen if e.type == "session.idle"]
    assert idle and all(e.ephemeral for e in idle)
    live = [(e.id, e.type) for e in seen if not e.ephemeral]
    assert [(e.id, e.type) for e in saved] == live
    assert [e.id for e in again] == [e.id for e in saved]  # the same ids on every call
    assert [e.parent_id for e in saved] == [None, *[e.id for e in saved[:-1]]]
    kinds = [str(e.type) for e in saved]
    turn = ["user.message", "assistant.turn_start", "assistant.message", "assistant.turn_end"]
    assert kinds == ["session.start", *turn, *turn]


async def test_a_new_process_reads_the_same_log_and_resume_chains_on(
    server: FakeServer, home: Path
) -> None:
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="again")
        await s.send_and_wait("one")
        before = await s.get_events()
    async with client_for(server, home) as client:
        seen: list[SessionEvent] = []
        s = await client.resume_session("again", on_event=seen.append)
        await s.send_and_wait("two")
        after = await s.get_events()
    assert [e.id for e in after[: len(before)]] == [e.id for e in before]
    assert [str(e.type) for e in after[len(before) :]] == [
        "session.resume",
        "user.message",
        "assistant.turn_start",
        "assistant.message",
        "assistant.turn_end",
    ]
    assert seen[0].type == "session.resume" and seen[0].parent_id == before[-1].id
    assert chained(after) == []


async def test_an_aborted_reply_is_not_sent_again_and_history_has_the_abort(
    server: FakeServer, home: Path
) -> None:
    server.queue(Reply(deltas=["part "] * 200, delay=0.02))
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="cut", streaming=True)
        first = asyncio.Event()
        s.on(lambda e: first.set() if e.type == "assistant.message_delta" else None)
        await s.send("long story")
        await first.wait()
        await s.abort()
        await s.wait()
        reply = await s.send_and_wait("short one")
        events = await s.get_events()
    assert reply is not None
    sent = server.requests[-1]["body"]["messages"]
    assert [(m["role"], m["content"]) for m in sent] == [
        ("user", "long story"),
        ("user", "short one"),
    ]
    kinds = [str(e.type) for e in events]
    assert kinds == [
        "session.start",
        "user.message",
        "assistant.turn_start",
        "abort",
        "assistant.turn_end",
        "user.message",
        "assistant.turn_start",
        "assistant.message",
        "assistant.turn_end",
    ]
    assert events[3].data.reason.value == "user_initiated"
    # the partial is kept on disk, marked, for the shell to show
    records = [json.loads(x) for x in (home / "sessions" / "cut.jsonl").read_text().splitlines()]
    partial = [r for r in records if r["t"] == "msg" and r.get("aborted")]
    assert len(partial) == 1 and partial[0]["content"].startswith("part ")


async def test_a_schema_1_file_loads_with_synthesised_events(
    server: FakeServer, home: Path
) -> None:
    sessions = home / "sessions"
    sessions.mkdir(parents=True)
    lines = [
        {"t": "session", "schema": 1, "model": "openai:gpt-4o-mini", "created": 1700000000.0},
        {"t": "msg", "role": "user", "content": "old question", "ts": 1700000001.0, "id": "u1"},
        {"t": "msg", "role": "assistant", "content": "old answer", "ts": 1700000002.0},
    ]
    (sessions / "old.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    async with client_for(server, home) as client:
        s = await client.resume_session("old")
        first = await s.get_events()
        second = await s.get_events()
        await s.send_and_wait("new question")
        after = await s.get_events()
    assert [str(e.type) for e in first] == ["session.start", "user.message", "assistant.message"]
    assert [e.id for e in second] == [e.id for e in first]
    assert first[0].data.selected_model == "gpt-4o-mini"
    assert chained(first) == []
    # a schema 1 file gets no ev records (older versions still read it); its
    # new messages carry their ids, and the history goes on from the old one
    assert [e.id for e in after[:3]] == [e.id for e in first]
    assert [str(e.type) for e in after[3:]] == ["user.message", "assistant.message"]
    assert after[3].parent_id == first[-1].id
    text = (sessions / "old.jsonl").read_text()
    assert '"t":"ev"' not in text and json.loads(text.splitlines()[0])["schema"] == 1
    sent = server.requests[-1]["body"]["messages"]
    assert [m["content"] for m in sent] == ["old question", "old answer", "new question"]


async def test_resume_with_a_model_emits_no_model_change_and_names_the_model_id(
    server: FakeServer, home: Path
) -> None:
    async with client_for(server, home) as client:
        await client.create_session(session_id="m")
    async with client_for(server, home) as client:
        seen: list[SessionEvent] = []
        s = await client.resume_session("m", model="openai:other", on_event=seen.append)
        await s.set_model("openai:third")
        reply = await s.send_and_wait("hi")
    assert [str(e.type) for e in seen][:2] == ["session.resume", "session.model_change"]
    assert seen[0].data.selected_model == "other"
    change = seen[1].data
    assert (change.previous_model, change.new_model) == ("other", "third")
    assert reply is not None and reply.data.model == "third"


async def test_get_events_after_disconnect_raises(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        s = await client.create_session()
        await s.disconnect()
        try:
            await s.get_events()
        except RuntimeError as exc:  # the SDK's runtime: the session is gone
            assert str(exc) == f"Session not found: {s.session_id}"
        else:
            raise AssertionError("get_events() after disconnect() did not raise")


def test_the_newest_event_id_is_the_last_history_event_s_in_every_kind_of_log() -> None:
    """Resuming chains on from ``last_event_id`` without building the whole
    history: it must name the event ``history_events`` ends with."""
    uid = "0b6f6d2c-3a43-4b43-9f39-1b1f7c3e9a10"

    def msg(role: str, n: int, **kw: Any) -> Message:
        return Message(role, f"text {n}", ts=1_700_000_000.0 + n, id=f"m{n}", **kw)

    old = [msg("user", 1), msg("assistant", 2), msg("user", 3), msg("assistant", 4)]
    cut = [*old[:3], msg("assistant", 4, aborted=True)]
    ev = LoggedEvent("assistant.turn_end", uid, "2026-01-01T00:00:00+00:00")
    logs: dict[str, list[Message | LoggedEvent]] = {
        "schema 1": list(old),
        "schema 1, the last reply aborted": cut,
        "schema 2, the last reply aborted": [*cut[:3], ev, cut[3]],
        "schema 2, an event last": [*old, ev],
        "a message's event id": [*old[:3], msg("assistant", 4, eid=uid)],
        "a malformed event id": [*old[:3], msg("assistant", 4, eid="not-a-uuid")],
        "only an aborted reply": [ev, msg("assistant", 1, aborted=True)],
    }
    for what, log in logs.items():
        data = SessionData("s", "openai:m", created=1_700_000_000.0, log=Log(log))
        assert last_event_id(data, "s") == history_events(data, "s")[-1].id, what
    assert last_event_id(SessionData("s", "openai:m"), "s") is None


async def test_get_events_right_after_resume_holds_the_resume(
    server: FakeServer, home: Path
) -> None:
    """As on the SDK (its e2e test_should_resume_a_session_using_a_new_client):
    the resumed session's log has its ``session.resume`` before anything is sent;
    the file itself is left as it was until the next turn."""
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="peek")
        await s.send_and_wait("one")
    async with client_for(server, home) as client:
        seen: list[SessionEvent] = []
        s = await client.resume_session("peek", on_event=seen.append)
        events = await s.get_events()
        assert [str(e.type) for e in events][-1] == "session.resume"
        assert events[-1].id == seen[0].id
        await s.send_and_wait("two")
        after = await s.get_events()
    kinds = [str(e.type) for e in after]
    assert kinds.count("session.resume") == 1
    assert chained(after) == []
