"""Compaction: the record format (old readers load it unchanged), which
messages a summary replaces, and the request after :compact, against the
loopback server."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply
from hypothesis import given
from hypothesis import strategies as st

from copilot_repl import CopilotClient
from copilot_repl.errors import UsageError
from copilot_repl.history import compact
from copilot_repl.history.messages import Message, SessionData
from copilot_repl.history.search import SearchIndex
from copilot_repl.history.store import Store


def msgs(n: int, size: int = 10) -> list[Message]:
    return [
        Message(role="user" if i % 2 == 0 else "assistant", content=f"m{i + 1} " + "x" * size)
        for i in range(n)
    ]


def test_the_record_loads_unchanged_in_the_store_reader(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.create(SessionData(name="s", model="openai:x"))
    for m in msgs(6):
        store.append("s", {"t": "msg", "role": m.role, "content": m.content})
    messages = store.load("s").data.messages
    c = compact.make(messages, 4, "  the gist  ", model="openai:x", ts=9.0, focus="names")
    store.append("s", c.record())
    loaded = store.load("s")
    assert loaded.warnings == [] and len(loaded.data.messages) == 6
    (found,) = compact.read_compactions(store.path("s"))
    assert found == c and found.text == "the gist"
    assert compact.current([found], loaded.data.messages) == c


def test_a_summary_stops_applying_when_its_messages_change() -> None:
    history = msgs(8)
    c = compact.make(history, 4, "gist", model="m", ts=0.0)
    assert compact.current([c], history) == c
    assert compact.current([c], history[:4]) is None  # nothing left after it
    changed = [*history[:2], Message("assistant", "other"), *history[3:]]
    assert compact.current([c], changed) is None
    later = compact.make(history, 6, "more gist", model="m", ts=1.0)
    assert compact.current([c, later], history) == later
    assert compact.current([later, c], history[:5]) == c


def test_request_view_puts_the_summary_in_the_system_prompt() -> None:
    history = msgs(6)
    c = compact.make(history, 4, "gist", model="m", ts=0.0)
    system, rest = compact.request_view("Be brief.", history, c)
    assert system.startswith("Be brief.\n\n") and "messages 1-4" in system and "gist" in system
    assert rest == history[4:]
    assert compact.request_view("", history, None) == ("", history)


@given(st.lists(st.sampled_from(["user", "assistant"]), max_size=30), st.integers(0, 400))
def test_plan_keeps_a_recent_part_that_starts_with_a_prompt(roles: list[str], keep: int) -> None:
    history = [Message(r, "word " * 20) for r in roles]
    upto = compact.plan(history, keep_tokens=keep)
    assert 0 <= upto <= max(0, len(history) - 1)
    if upto:
        assert upto >= 2 and history[upto].role == "user"
        assert len(history) - upto >= min(compact.KEEP_RECENT, len(history)) or (
            history[upto].role == "user"
        )


@pytest.mark.parametrize(
    "junk", [b'{"t":"meta","summary":{"upto":"2"}}', b'{"t":"meta","summary":']
)
def test_malformed_summaries_are_ignored(tmp_path: Path, junk: bytes) -> None:
    assert compact.scan(junk + b"\n") == []


def client_for(server: FakeServer, home: Path) -> CopilotClient:
    return CopilotClient(data_dir=str(home), base_url=server.url)


async def test_compact_summarises_the_older_part_and_later_requests_use_it(
    server: FakeServer, home: Path
) -> None:
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="long", system_message={"content": "Hi."})
        for i in range(6):
            await s.send_and_wait(f"question {i} about kumquats")
        server.queue(Reply(text="SUMMARY: six questions about kumquats"))
        c = await s.compact("fruit")
        asked = server.requests[-1]["body"]["messages"]
        assert "question 0 about kumquats" in asked[-1]["content"]
        assert "Focus on: fruit" in asked[-1]["content"]
        assert c.text == "SUMMARY: six questions about kumquats" and 2 <= c.upto < 12
        assert s.messages[c.upto].role == "user"
        await s.send_and_wait("and now?")
        sent = server.requests[-1]["body"]["messages"]
        assert sent[0]["role"] == "system"
        assert (
            sent[0]["content"].startswith("Hi.") and "SUMMARY: six questions" in sent[0]["content"]
        )
        contents = [m["content"] for m in sent[1:]]
        assert "question 0 about kumquats" not in contents
        assert contents[-1] == "and now?"
        assert len(sent) - 1 == 13 - c.upto
        # the originals stay on disk, whole, and searchable
        assert len(s.messages) == 14
    store = Store(home)
    assert len(store.load("long").data.messages) == 14
    with SearchIndex(store) as index:
        assert [h.n for h in index.search('"question 0"')] == [1, 2]


async def test_compact_refuses_a_short_session_and_an_empty_summary(
    server: FakeServer, home: Path
) -> None:
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="short")
        await s.send_and_wait("one")
        with pytest.raises(UsageError, match="nothing to compact"):
            await s.compact()
        for i in range(5):
            await s.send_and_wait(f"q{i}")
        server.queue(Reply(text=""))
        with pytest.raises(Exception, match="empty summary"):
            await s.compact()
    assert compact.read_compactions(home / "sessions" / "short.jsonl") == []


async def test_fork_session_through_the_client(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="main")
        await s.send_and_wait("first")
        await s.send_and_wait("second")
        f = await client.fork_session("main", "alt", at=2, model="openai:other")
        assert f.session_id == "alt" and f.model == "openai:other"
        assert [m.content for m in f.messages] == ["first", "echo: first"]
        await f.send_and_wait("branch")
        sent = server.requests[-1]["body"]
        assert [m["content"] for m in sent["messages"]] == ["first", "echo: first", "branch"]
        assert sent["model"] == "other"
        assert len(s.messages) == 4


async def test_auto_compact_summarises_before_the_window_fills(
    server: FakeServer, home: Path
) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        'auto_compact = 0.6\n[providers.openai]\nbase_url = "http://unused/v1"\n'
        "context_tokens = 600\nreply_tokens = 100\n"
    )
    infos: list[str] = []
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="auto")
        s.on(lambda e: infos.append(e.data.message) if e.type == "session.info" else None)
        for i in range(8):
            await s.send_and_wait(f"question {i}: " + "lorem ipsum dolor " * 8)
        found = compact.read_compactions(home / "sessions" / "auto.jsonl")
        assert found, "no compaction was made"
        assert any("auto_compact" in text for text in infos)
        await s.send_and_wait("final question")
        (sent,) = [
            r["body"]["messages"]
            for r in server.requests
            if r["body"]["messages"][-1]["content"] == "final question"
        ]
        assert sent[0]["role"] == "system"
        assert sent[0]["content"].startswith("Summary of the earlier part")
        assert len(sent) - 1 < len(s.messages) - 1  # fewer messages than the history
        assert len(s.messages) == 18  # every message stays
    assert len(Store(home).load("auto").data.messages) == 18


def test_auto_compact_and_trash_days_are_checked_settings(home: Path) -> None:
    from copilot_repl.config import load_config
    from copilot_repl.errors import ConfigError

    home.mkdir(parents=True, exist_ok=True)
    cfg = home / "config.toml"
    cfg.write_text("auto_compact = 0.8\ntrash_days = 30\nsummary_model = 'local'\n")
    loaded = load_config(env={"COPILOT_REPL_HOME": str(home)})
    assert (loaded.auto_compact, loaded.trash_days, loaded.summary_model) == (0.8, 30.0, "local")
    for bad in ("auto_compact = 1.5", "auto_compact = true", "trash_days = -1", "trash_days = 'x'"):
        cfg.write_text(bad + "\n")
        with pytest.raises(ConfigError, match="line 1"):
            load_config(env={"COPILOT_REPL_HOME": str(home)})


@pytest.mark.local
async def test_compact_with_the_embedded_model(tmp_path: Path) -> None:
    """The plumbing with a real model: the 135M model's summaries are poor, so
    only the structure is checked."""
    pytest.importorskip("llama_cpp")
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        "[providers.local]\nreply_tokens = 1536\n"
        "params = {max_tokens = 48, temperature = 0.7, repeat_penalty = 1.1}\n"
    )
    store = Store(home)
    store.create(SessionData(name="chat", model="local:smollm2"))
    topics = ["apples", "pears", "plums", "cherries", "grapes"]
    for topic in topics:
        store.append("chat", {"t": "msg", "role": "user", "content": f"Tell me about {topic}."})
        store.append(
            "chat", {"t": "msg", "role": "assistant", "content": f"{topic.title()} are fruit."}
        )
    client = CopilotClient(data_dir=str(home))
    await client.start()
    try:
        s = await client.resume_session("chat")
        c = await s.compact("fruit names")
        assert c.text and c.model == "local:smollm2" and c.upto == 6
        (found,) = compact.read_compactions(home / "sessions" / "chat.jsonl")
        assert found == c
        reply = await s.send_and_wait("And bananas?", timeout=300)
        assert reply is not None and reply.data.content
    finally:
        await client.stop()
    assert len(Store(home).load("chat").data.messages) == 12


COMPACTOR = """
import sys
from pathlib import Path
from copilot_repl.history import compact
from copilot_repl.history.store import Store
store = Store(Path(sys.argv[1]))
messages = store.load("s").data.messages
print("ready", flush=True)
i = 0
while True:
    i += 1
    c = compact.make(messages, 2 + i % 3, f"summary {i} " + "words " * 3000, model="m", ts=i)
    store.append("s", c.record())
"""


def test_kill_9_during_compaction_leaves_whole_records(tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT

    store = Store(tmp_path)
    store.create(SessionData(name="s", model="openai:x"))
    for m in msgs(8):
        store.append("s", {"t": "msg", "role": m.role, "content": m.content})
    proc = subprocess.Popen(
        [sys.executable, "-c", COMPACTOR, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE
    )
    assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
    time.sleep(0.2)  # any moment will do
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    loaded = store.load("s")
    # a kill in the middle of a write can leave at most the last record cut
    # short; the reader skips it (and says so): the old state, never a broken one
    assert all("incomplete last record" in w for w in loaded.warnings), loaded.warnings
    assert len(loaded.data.messages) == 8
    found = compact.read_compactions(store.path("s"))
    assert found and all(c.text.endswith("words") for c in found)
    assert compact.current(found, loaded.data.messages) == found[-1]


async def test_a_verbose_summariser_is_one_line_not_one_request_per_message(
    server: FakeServer, home: Path
) -> None:
    """The echo model repeats its whole request: a summary as long as the
    window, which would leave room for one message per request."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        '[providers.openai]\nbase_url = "http://unused/v1"\n'
        "context_tokens = 1200\nreply_tokens = 100\n"
    )
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="verbose")
        for i in range(30):
            await s.send_and_wait(f"question {i}: " + "lorem ipsum dolor " * 12)
        asked = len(server.requests)
        with pytest.raises(Exception, match="too long to go on with") as caught:
            await s.compact()
        assert "nothing was changed" in str(caught.value)
        assert len(server.requests) - asked <= 2
    assert compact.read_compactions(home / "sessions" / "verbose.jsonl") == []
