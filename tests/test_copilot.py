"""The ``copilot`` provider against the real Copilot CLI (npm @github/copilot)
and the real SDK, in BYOK mode: the CLI routes through the loopback test
server, so no GitHub login is needed. No stand-ins.

The CLI prefixes each user message with a ``<current_datetime>`` tag, which
the test server echoes: assertions look for the prompt inside the reply.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, live_processes, run_cli
from fakeserver import FakeServer, markdown_deltas

from copilot_repl.api.client import CopilotClient
from copilot_repl.api.events import SessionEvent
from copilot_repl.config import ProviderSettings
from copilot_repl.errors import CopilotError, ReplError
from copilot_repl.providers.copilot import FRESH_NOTE, CopilotProvider
from copilot_repl.providers.copilot_cli import SDK_DIST, find_cli
from copilot_repl.providers.copilot_sync import DEFAULT_SYSTEM

try:
    metadata.distribution(SDK_DIST)
    CLI = find_cli(ProviderSettings(name="copilot", kind="copilot"), os.environ)
except metadata.PackageNotFoundError:
    pytest.skip(
        "github-copilot-sdk is not installed: pip install 'copilot-repl[copilot]' (or make test)",
        allow_module_level=True,
    )
except CopilotError as exc:
    pytest.skip(f"no Copilot CLI: {exc}", allow_module_level=True)

MODEL = "copilot:gpt-4o-mini"
WAIT = 60.0  # generous bounds for a busy 2-core box; never asserted on


# -- helpers ------------------------------------------------------------------
def byok_config(path: Path, url: str, extra: str = "", model: str = "gpt-4o-mini") -> Path:
    path.write_text(
        f'[providers.copilot]\nbyok_base_url = "{url}"\ndefault_model = "{model}"\n{extra}'
    )
    return path


@pytest.fixture
def config(tmp_path: Path, server: FakeServer) -> Path:
    return byok_config(tmp_path / "config.toml", server.url)


@pytest.fixture
async def client(config: Path) -> AsyncIterator[CopilotClient]:
    client = CopilotClient(config_path=str(config))
    await client.start()
    yield client
    await client.stop()


class Events:
    """One session's events, in order."""

    def __init__(self, session: Any, log: list[tuple[str, SessionEvent]] | None = None) -> None:
        self.all: list[SessionEvent] = []
        self.log = log
        self.first_delta = asyncio.Event()
        session.on(self._on)

    def _on(self, event: SessionEvent) -> None:
        self.all.append(event)
        if self.log is not None:
            self.log.append((event.session_id, event))
        if event.type == "assistant.message_delta":
            self.first_delta.set()

    def statuses(self) -> list[str]:
        return [e.data.message for e in self.all if e.type == "copilot_repl.status"]

    def deltas(self) -> int:
        return sum(e.type == "assistant.message_delta" for e in self.all)


def chat_requests(server: FakeServer) -> list[dict[str, Any]]:
    return [r["body"] for r in server.requests if r["path"].endswith("/chat/completions")]


def roles(body: dict[str, Any]) -> list[str]:
    return [m["role"] for m in body["messages"]]


def provider(client: CopilotClient) -> CopilotProvider:
    p = client.provider("copilot")
    assert isinstance(p, CopilotProvider)
    return p


def state_dir(home: Path, sid: str) -> Path:
    return home / "copilot" / "session-state" / sid


async def cli_event_types(client: CopilotClient, sid: str) -> list[str]:
    """The CLI session's own record of the conversation."""
    events = await provider(client)._live[sid].get_events()
    return [e.type.value for e in events]


def cli_processes(home: Path) -> list[int]:
    """Live Copilot CLI processes whose state is in ``home``."""
    return live_processes(b"--headless", "COPILOT_HOME", home / "copilot")


def wait_gone(home: Path, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := cli_processes(home)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


# -- streaming ----------------------------------------------------------------
async def test_a_reply_streams_from_a_new_cli_session(
    client: CopilotClient, server: FakeServer, home: Path
) -> None:
    session = await client.create_session(session_id="chat", model=MODEL, streaming=True)
    events = Events(session)
    reply = await session.send_and_wait("hello there", timeout=WAIT)
    assert reply is not None and reply.data.content.endswith("hello there")
    assert events.deltas() >= 2
    assert events.statuses() == ["starting Copilot CLI…"]
    assert [m.role for m in session.messages] == ["user", "assistant"]
    assert session.messages[1].content == reply.data.content
    assert state_dir(home, "chat").is_dir()  # the CLI's state is under our data dir
    types = await cli_event_types(client, "chat")
    assert types.count("user.message") == 1 and "assistant.message" in types
    assert chat_requests(server)[-1]["model"] == "gpt-4o-mini"


async def test_the_request_has_no_tools_and_our_system_prompt(
    client: CopilotClient, server: FakeServer
) -> None:
    brief = await client.create_session(model=MODEL, system_message="Be brief.")
    await brief.send_and_wait("one", timeout=WAIT)
    bare = await client.create_session(model=MODEL, system_message="")
    await bare.send_and_wait("two", timeout=WAIT)
    first, second = chat_requests(server)
    for body in (first, second):
        assert not body.get("tools")
        assert roles(body) == ["system", "user"]
    assert first["messages"][0]["content"] == "Be brief."
    assert second["messages"][0]["content"] == DEFAULT_SYSTEM


async def test_the_second_turn_sends_only_the_new_prompt(
    client: CopilotClient, server: FakeServer
) -> None:
    session = await client.create_session(model=MODEL, system_message="Be brief.")
    events = Events(session)
    await session.send_and_wait("first", timeout=WAIT)
    await session.send_and_wait("second", timeout=WAIT)
    last = chat_requests(server)[-1]
    assert roles(last) == ["system", "user", "assistant", "user"]
    assert last["messages"][0]["content"] == "Be brief."  # not re-seeded
    assert FRESH_NOTE not in events.statuses()
    types = await cli_event_types(client, session.session_id)
    assert types.count("user.message") == 2


# -- Ctrl-C -------------------------------------------------------------------
async def test_abort_keeps_the_partial_reply_and_the_next_turn_starts_afresh(
    client: CopilotClient, server: FakeServer
) -> None:
    session = await client.create_session(session_id="story", model=MODEL, streaming=True)
    events = Events(session)
    await session.send("a long story #delay=0.1 #deltas=200")
    await asyncio.wait_for(events.first_delta.wait(), WAIT)
    await session.abort()  # what Ctrl-C does
    partial = session.messages[-1]
    assert partial.role == "assistant" and partial.status == "interrupted"
    assert partial.content and len(partial.content) < len("".join(markdown_deltas(200)))
    assert "abort" in await cli_event_types(client, "story")  # session.abort() reached the CLI

    reply = await session.send_and_wait("go on", timeout=WAIT)
    assert reply is not None and reply.data.content.endswith("go on")
    assert FRESH_NOTE in events.statuses()
    seeded = chat_requests(server)[-1]
    assert roles(seeded) == ["system", "user"]
    system = seeded["messages"][0]["content"]
    # as on the SDK: the aborted turn's prompt is history, its partial reply is not
    assert "User: a long story" in system and "Assistant:" not in system


async def test_clear_and_retry_start_a_fresh_cli_session(
    client: CopilotClient, server: FakeServer
) -> None:
    session = await client.create_session(model=MODEL, system_message="Be brief.")
    events = Events(session)
    await session.send_and_wait("first", timeout=WAIT)
    session.clear()
    await session.send_and_wait("after clear", timeout=WAIT)
    after_clear = chat_requests(server)[-1]
    assert roles(after_clear) == ["system", "user"]
    assert after_clear["messages"][0]["content"] == "Be brief."
    assert events.statuses().count(FRESH_NOTE) == 1

    await session.retry()
    await session.wait(WAIT)
    assert events.statuses().count(FRESH_NOTE) == 2
    assert roles(chat_requests(server)[-1]) == ["system", "user"]
    assert [m.role for m in session.messages] == ["user", "assistant"]


async def test_a_session_with_history_from_another_provider_is_seeded(
    config: Path, server: FakeServer
) -> None:
    client = CopilotClient(config_path=str(config), base_url=server.url)
    async with client:
        session = await client.create_session(model="openai:gpt-4o-mini")
        await session.send_and_wait("asked elsewhere", timeout=WAIT)
        await session.set_model(MODEL)
        events = Events(session)
        await session.send_and_wait("now copilot", timeout=WAIT)
    assert FRESH_NOTE in events.statuses()
    system = chat_requests(server)[-1]["messages"][0]["content"]
    assert "User: asked elsewhere" in system and "Assistant: echo: asked elsewhere" in system


# -- relaunch, :rm ------------------------------------------------------------
async def test_a_relaunched_client_resumes_the_same_cli_session(
    config: Path, server: FakeServer, home: Path
) -> None:
    first = CopilotClient(config_path=str(config))
    async with first:
        session = await first.create_session(session_id="work", model=MODEL, system_message="Hi.")
        await session.send_and_wait("before relaunch", timeout=WAIT)
        pid = provider(first)._runtime.process.proc.pid  # type: ignore[union-attr]
    assert cli_processes(home) == []  # stopped with the client
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)

    second = CopilotClient(config_path=str(config))
    async with second:
        session = await second.resume_session("work")
        events = Events(session)
        await session.send_and_wait("after relaunch", timeout=WAIT)
        types = await cli_event_types(second, "work")
    assert FRESH_NOTE not in events.statuses()
    body = chat_requests(server)[-1]
    assert roles(body) == ["system", "user", "assistant", "user"]
    assert body["messages"][0]["content"] == "Hi."
    assert body["messages"][1]["content"].endswith("before relaunch")  # from the CLI's record
    assert body["messages"][3]["content"].endswith("after relaunch")
    assert types.count("user.message") == 2  # the CLI was sent only the new prompt


async def test_rm_removes_the_cli_session_too(config: Path, home: Path) -> None:
    client = CopilotClient(config_path=str(config))
    async with client:
        for sid in ("gone", "gone-later"):
            session = await client.create_session(session_id=sid, model=MODEL, streaming=True)
            await session.send_and_wait("hello", timeout=WAIT)
        assert state_dir(home, "gone").is_dir()
        await client.delete_session("gone")  # :rm, with the CLI running
        assert not state_dir(home, "gone").exists()
        assert not (home / "copilot" / "repl-sync" / "gone.json").exists()
        assert "gone" not in [s.session_id for s in await client.list_sessions()]
    assert state_dir(home, "gone-later").is_dir()

    later = CopilotClient(config_path=str(config))
    async with later:  # a new process that never started the CLI
        await later.delete_session("gone-later")
    assert not state_dir(home, "gone-later").exists()
    assert not (home / "copilot" / "repl-sync" / "gone-later.json").exists()
    assert cli_processes(home) == []


# -- parallel -----------------------------------------------------------------
async def test_two_copilot_sessions_stream_at_once(client: CopilotClient) -> None:
    log: list[tuple[str, SessionEvent]] = []
    a = await client.create_session(session_id="a", model=MODEL, streaming=True)
    b = await client.create_session(session_id="b", model=MODEL, streaming=True)
    Events(a, log)
    Events(b, log)
    await a.send("left #delay=0.05 #deltas=30")
    await b.send("right #delay=0.05 #deltas=30")
    await asyncio.gather(a.wait(WAIT), b.wait(WAIT))
    order = [(sid, e.type) for sid, e in log]
    for me, other in (("a", "b"), ("b", "a")):
        first = order.index((me, "assistant.message_delta"))
        assert first < order.index((other, "session.idle")), "the replies did not overlap"
    for s in (a, b):
        assert s.messages[-1].status == "done"
        assert s.messages[-1].content == "".join(markdown_deltas(30))
        assert s.messages[-1].tokens == 30  # the model's own count, via the CLI
    assert len(provider(client)._live) == 2  # two CLI sessions, one CLI


# -- failures -----------------------------------------------------------------
async def test_a_missing_cli_is_one_clear_line(tmp_path: Path, server: FakeServer) -> None:
    missing = tmp_path / "no-such-copilot"
    config = byok_config(tmp_path / "c.toml", server.url, f'cli_path = "{missing}"\n')
    client = CopilotClient(config_path=str(config))
    async with client:
        session = await client.create_session(model=MODEL, streaming=True)
        with pytest.raises(ReplError) as info:
            await session.send_and_wait("hello", timeout=WAIT)
    text = str(info.value)
    assert str(missing) in text and "make copilot-cli" in text and "\n" not in text


def test_a_missing_cli_in_script_mode_is_one_line(tmp_path: Path, server: FakeServer) -> None:
    missing = tmp_path / "no-such-copilot"
    config = byok_config(tmp_path / "c.toml", server.url, f'cli_path = "{missing}"\n')
    result = run_cli(["--config", str(config), "--model", MODEL], "hello\n")
    assert result.code == 1
    lines = [ln for ln in result.err.splitlines() if "copilot" in ln.lower()]
    assert len(lines) == 1 and "make copilot-cli" in lines[0]


async def test_a_provider_error_ends_the_turn_with_its_message(client: CopilotClient) -> None:
    session = await client.create_session(model=MODEL, streaming=True)
    with pytest.raises(ReplError, match="401"):
        await session.send_and_wait("no entry #status=401", timeout=WAIT)
    reply = await session.send_and_wait("but now", timeout=WAIT)
    assert reply is not None and reply.data.content.endswith("but now")


async def test_a_cli_that_dies_mid_reply_fails_the_turn_and_is_restarted(
    client: CopilotClient, server: FakeServer
) -> None:
    session = await client.create_session(session_id="crash", model=MODEL, streaming=True)
    events = Events(session)
    await session.send("a long story #delay=0.1 #deltas=200")
    await asyncio.wait_for(events.first_delta.wait(), WAIT)
    pid = provider(client)._runtime.process.proc.pid  # type: ignore[union-attr]
    os.kill(pid, signal.SIGKILL)
    await session.wait(WAIT)
    partial = session.messages[-1]
    assert partial.role == "assistant" and partial.status == "interrupted" and partial.content
    errors = [e.data.message for e in events.all if e.type == "session.error"]
    assert len(errors) == 1 and "exited in the middle of the reply" in errors[0]

    reply = await session.send_and_wait("still there?", timeout=WAIT)
    assert reply is not None and reply.data.content.endswith("still there?")
    statuses = events.statuses()
    assert any(s.startswith("the Copilot CLI had stopped") for s in statuses)
    assert FRESH_NOTE in statuses
    assert f"Assistant: {partial.content}" in chat_requests(server)[-1]["messages"][0]["content"]


async def test_byok_lists_the_configured_model(client: CopilotClient) -> None:
    assert await provider(client).list_models() == ["gpt-4o-mini"]


# -- script mode and processes ------------------------------------------------
def test_script_mode_with_a_copilot_model(config: Path, server: FakeServer, home: Path) -> None:
    result = run_cli(
        ["--config", str(config), "--model", "copilot:some-model"], "hello from a script\n"
    )
    assert result.code == 0, result.err
    assert "hello from a script" in result.out
    assert chat_requests(server)[-1]["model"] == "some-model"
    assert cli_processes(home) == []


def test_no_cli_is_left_when_copilot_repl_is_killed(
    config: Path, server: FakeServer, home: Path
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "copilot_repl", "--config", str(config), "--model", MODEL],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"a long one #delay=0.2 #deltas=500\n")
        proc.stdin.flush()  # and stay open: copilot-repl waits for more
        deadline = time.monotonic() + WAIT
        while not chat_requests(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert chat_requests(server), "the CLI never called the model"
        assert len(cli_processes(home)) == 1
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert wait_gone(home) == [], "the Copilot CLI outlived a SIGKILLed copilot-repl"


# -- the embedded local model as the BYOK target --------------------------------
@pytest.mark.local
@pytest.mark.skipif(importlib.util.find_spec("llama_cpp") is None, reason="no llama-cpp-python")
async def test_copilot_through_the_embedded_local_model(tmp_path: Path) -> None:
    """The local provider's llama.cpp server as the CLI's BYOK target."""
    local = CopilotClient()
    async with local:
        llama = local.provider("local").server  # type: ignore[attr-defined]
        url = await llama.ensure(lambda _status: None)
        config = byok_config(tmp_path / "local.toml", url, model="smollm2")
        async with CopilotClient(config_path=str(config)) as client:
            session = await client.create_session(
                model="copilot:smollm2", system_message="Be brief."
            )
            reply = await session.send_and_wait("Say hello.", timeout=180)
    assert reply is not None and reply.data.content.strip()
    assert session.messages[-1].status == "done"


def test_the_login_hint_names_the_cli_where_it_was_found(tmp_path: Path) -> None:
    """`make copilot-cli` installs the CLI off PATH: the hint gives its path."""
    env = {"HOME": str(Path.home()), "PATH": "/nonexistent"}
    if os.environ.get("XDG_CACHE_HOME"):
        env["XDG_CACHE_HOME"] = os.environ["XDG_CACHE_HOME"]
    config = ProviderSettings(name="copilot", kind="copilot")
    provider = CopilotProvider(config, env, data_dir=tmp_path)
    hint = provider.login_hint()
    assert str(find_cli(config, env)) in hint
    assert " copilot login`" not in hint


def test_an_image_goes_to_the_cli_as_a_blob_attachment(
    config: Path, server: FakeServer, home: Path, tmp_path: Path
) -> None:
    """-f IMAGE on a copilot model: the prompt's image is the SDK's blob
    attachment, which the CLI sends on as an image part (here to BYOK)."""
    import base64
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    # a real 2x2 PNG: the CLI checks the image before sending it
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x80\x00\xff\x80\x00" * 2)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels)
    png += chunk(b"IEND", b"")
    cat = tmp_path / "cat.png"
    cat.write_bytes(png)
    r = run_cli(["--config", str(config), "-m", MODEL, "-f", str(cat), "-p", "what is it?"])
    assert r.code == 0, r.err
    parts = chat_requests(server)[-1]["messages"][-1]["content"]
    url = f"data:image/png;base64,{base64.b64encode(png).decode()}"
    assert {"type": "image_url", "image_url": {"url": url}} in parts
    assert any("what is it?" in p.get("text", "") for p in parts)
    assert cli_processes(home) == []
