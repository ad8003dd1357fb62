"""The embedded local model, against the real llama.cpp server (no stand-ins).

One server is shared by the in-process tests (a module-scoped client on a
module-scoped event loop); the subprocess tests start their own. Replies are
capped at 48 tokens to keep this quick. Tests assert on the plumbing, never
on what the tiny model says.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ROOT, live_processes, run_proc
from helpers import session_records

from copilot_repl.api.client import CopilotClient
from copilot_repl.api.events import SessionEvent
from copilot_repl.history.messages import SessionData
from copilot_repl.history.store import Store
from copilot_repl.providers.childproc import exit_reason
from copilot_repl.providers.local import (
    PROMPT_TOKENS,
    TEMPLATE_TOKENS,
    fit_messages,
    prompt_size,
    tail_lines,
)

if importlib.util.find_spec("llama_cpp") is None:
    pytest.skip(
        "llama-cpp-python is not installed: pip install 'copilot-repl[local]' (or make test)",
        allow_module_level=True,
    )

pytestmark = pytest.mark.local

# Replies capped at 48 tokens; reply_tokens = 1536 leaves ~512 of the 2,048-token
# context to the history, so prompt evaluation stays quick on a busy 2-core box.
FAST = """[providers.local]
reply_tokens = 1536
params = {max_tokens = 48, temperature = 0.7, repeat_penalty = 1.1}
"""
WORDS = [
    "the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "while", "seven",
    "curious", "engineers", "debate", "tokens", "in", "distributed", "functional", "systems",
]  # fmt: skip


# -- helpers ------------------------------------------------------------------
def servers(marker: str | Path) -> list[int]:
    """Live llama.cpp server processes started with COPILOT_REPL_HOME=marker."""
    return live_processes(b"providers.llama_server", "COPILOT_REPL_HOME", marker)


def wait_gone(marker: str | Path, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := servers(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def messages(home: Path, name: str, role: str) -> list[dict[str, Any]]:
    return [r for r in session_records(home, name) if r.get("t") == "msg" and r["role"] == role]


def words(n: int, rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def clean_env(**extra: str) -> dict[str, str]:
    drop = {"OPENAI_API_KEY", "OPENAI_BASE_URL", "NO_COLOR", "GITHUB_TOKEN"}
    return {**{k: v for k, v in os.environ.items() if k not in drop}, **extra}


def fast_home(home: Path) -> Path:
    """A data dir whose config.toml caps replies (the default model stays local)."""
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(FAST)
    return home


class Events:
    """Collects one session's events."""

    def __init__(self, session: Any) -> None:
        self.all: list[SessionEvent] = []
        self.first_delta = asyncio.Event()
        session.on(self._on)

    def _on(self, event: SessionEvent) -> None:
        self.all.append(event)
        if event.type == "assistant.message_delta":
            self.first_delta.set()

    def of(self, kind: str) -> list[SessionEvent]:
        return [e for e in self.all if e.type == kind]


# -- a shared server for the in-process tests -----------------------------------
@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def shared(
    loop: asyncio.AbstractEventLoop, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CopilotClient]:
    home = fast_home(tmp_path_factory.mktemp("shared") / "home")
    client = CopilotClient(
        data_dir=str(home), config_path=str(home / "config.toml"), env=clean_env()
    )
    loop.run_until_complete(client.start())
    yield client
    loop.run_until_complete(client.stop())


@pytest.fixture
def client(shared: CopilotClient) -> CopilotClient:
    for session in shared.open_sessions():
        shared.forget(session)
    return shared


# -- pure helpers ---------------------------------------------------------------
def test_tail_lines_keeps_the_exception_line_of_a_traceback() -> None:
    log = (
        "llama_model_loader: loaded meta data\n"
        'INFO:     127.0.0.1:4242 - "GET /v1/models HTTP/1.1" 200 OK\n'
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "    main()\n"
        "           ^^^^\n"
        "ValueError: Failed to load model from file: /tmp/x.gguf\n"
    )
    assert tail_lines(log) == [
        "llama_model_loader: loaded meta data",
        "ValueError: Failed to load model from file: /tmp/x.gguf",
    ]
    assert tail_lines("") == []
    assert exit_reason(-9) == "was killed by SIGKILL"
    assert exit_reason(1) == "exited with status 1"


def test_fit_messages_keeps_system_and_newest_and_starts_with_user() -> None:
    msgs = [
        {"role": "system", "content": "s"},
        *({"role": r, "content": str(i)} for i in range(6) for r in ("user", "assistant")),
        {"role": "user", "content": "last"},
    ]
    counts = [10] + [100] * 12 + [10]
    budget = prompt_size([10, 100, 100, 100, 10])
    kept, dropped, size = fit_messages(msgs, counts, budget)
    assert kept[0]["role"] == "system" and kept[-1]["content"] == "last"
    assert kept[1]["role"] == "user"
    assert dropped == len(msgs) - len(kept) and size <= budget
    # Nothing fits but the newest message: it is still sent, and the size tells.
    kept, dropped, size = fit_messages(msgs, [10] + [100] * 12 + [5000], 1000)
    assert [m["content"] for m in kept] == ["s", "last"] and size > 1000
    assert prompt_size([1, 2]) == 3 + 2 * TEMPLATE_TOKENS + PROMPT_TOKENS


# -- script mode ----------------------------------------------------------------
def test_two_turns_in_script_mode_are_answered_and_saved(home: Path) -> None:
    fast_home(home)
    res = run_proc([], stdin="hi\nand again\n", env=clean_env(COPILOT_REPL_HOME=str(home)))
    assert res.code == 0, res.err
    assert res.err.count("starting local model…") == 1
    assert "error" not in res.err
    users = messages(home, "main", "user")
    replies = messages(home, "main", "assistant")
    assert [u["content"] for u in users] == ["hi", "and again"]
    assert len(replies) == 2
    for reply in replies:
        assert reply["status"] in ("done", "truncated") and reply["model"] == "local:smollm2"
        assert reply["content"].strip()
        assert reply["content"].strip() in res.out
    assert servers(home) == [], "copilot-repl exited without stopping its server"


def test_a_server_that_cannot_start_is_one_line_and_the_script_goes_on(
    home: Path, tmp_path: Path
) -> None:
    bad = tmp_path / "not-a-model.gguf"
    bad.write_bytes(random.Random(3).randbytes(4096))
    config = tmp_path / "bad.toml"
    config.write_text(f'[providers.local]\nmodel_path = "{bad}"\n')
    res = run_proc(["--config", str(config)], stdin="hi\n:ls\n", env=clean_env())
    assert res.code == 1
    errors = [ln for ln in res.err.splitlines() if ln.startswith("copilot-repl: error:")]
    assert len(errors) == 1, res.err
    assert "local model failed to start" in errors[0]
    assert "log: " in errors[0] and "Failed to load model" in errors[0]
    assert "main" in res.out  # :ls ran after the failure
    assert wait_gone(home) == []


def test_a_history_far_longer_than_the_context_still_gets_a_reply(home: Path) -> None:
    fast_home(home)
    store = Store(home)
    now = time.time()
    store.create(SessionData(name="long", model="local:smollm2", created=now, modified=now))
    rng = random.Random(1)
    store.append(
        "long",
        *(
            {"t": "msg", "role": ("user", "assistant")[i % 2], "content": words(150, rng),
             "ts": now}
            for i in range(60)
        ),
    )  # fmt: skip
    res = run_proc(["--session", "long"], stdin="Sum it up.\n", env=clean_env())
    assert res.code == 0, res.err
    notices = [ln for ln in res.err.splitlines() if "earlier messages left out" in ln]
    assert len(notices) == 1 and notices[0].startswith("copilot-repl: warning:"), res.err
    reply = messages(home, "long", "assistant")[-1]
    assert reply["status"] in ("done", "truncated") and reply["content"].strip()
    assert len(messages(home, "long", "user")) == 31  # nothing left out on disk


# -- lifecycle ------------------------------------------------------------------
def test_no_server_is_left_after_the_client_stops(home: Path) -> None:
    fast_home(home)

    async def main() -> tuple[list[int], int]:
        client = CopilotClient(env=clean_env(COPILOT_REPL_HOME=str(home)))
        async with client:
            session = await client.create_session(model="local", streaming=True)
            reply = await session.send_and_wait("hi", timeout=120)
            assert reply is not None and reply.data.content.strip()
            running = servers(home)
            pid = client.provider("local").server.proc.pid  # type: ignore[attr-defined]
        return running, pid

    running, pid = asyncio.run(main())
    assert running == [pid]
    assert servers(home) == []  # stopped by client.stop(), not later


def test_no_server_is_left_when_copilot_repl_is_killed(home: Path) -> None:
    fast_home(home)
    proc = subprocess.Popen(
        [sys.executable, "-m", "copilot_repl"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=clean_env(COPILOT_REPL_HOME=str(home)),
        cwd=ROOT,
    )
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"hi\n")
        proc.stdin.flush()  # and stay open: copilot-repl waits for more
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            path = home / "sessions" / "main.jsonl"
            if path.exists() and messages(home, "main", "assistant"):
                break
            time.sleep(0.1)
        assert messages(home, "main", "assistant"), "no reply from the local model"
        before = servers(home)
        assert len(before) == 1
        proc.kill()
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert wait_gone(home) == [], "the server outlived a SIGKILLed copilot-repl"


# -- through the Python API, on the shared server ----------------------------------
def test_two_sessions_sending_at_once_both_get_complete_replies(
    client: CopilotClient, loop: asyncio.AbstractEventLoop
) -> None:
    async def main() -> list[tuple[SessionEvent | None, Events]]:
        a = await client.create_session(model="local", streaming=True)
        b = await client.create_session(model="local", streaming=True)
        ea, eb = Events(a), Events(b)
        ra, rb = await asyncio.gather(
            a.send_and_wait("Name a colour.", timeout=120),
            b.send_and_wait("Name an animal.", timeout=120),
        )
        return [(ra, ea), (rb, eb)]

    results = loop.run_until_complete(main())
    for reply, events in results:
        assert reply is not None and reply.type == "assistant.message"
        assert reply.data.status in ("done", "truncated") and reply.data.content.strip()
        assert len(events.of("assistant.message")) == 1
        assert not events.of("session.error")
    queued = [len(ev.of("copilot_repl.queued")) for _, ev in results]
    assert sorted(queued) == [0, 1]  # the second waited for the first


def test_cancel_mid_reply_leaves_the_server_usable(
    client: CopilotClient, loop: asyncio.AbstractEventLoop
) -> None:
    async def main() -> None:
        session = await client.create_session(model="local", streaming=True)
        events = Events(session)
        await session.send("Tell me a long story about a dragon and a lighthouse.")
        await asyncio.wait_for(events.first_delta.wait(), 120)
        await session.abort()
        turn = session.last_turn
        assert turn is not None and turn.state == "interrupted"
        assert session.messages[-1].role == "assistant"
        assert session.messages[-1].status == "interrupted"
        reply = await session.send_and_wait("Now just say hello.", timeout=120)
        assert reply is not None and reply.data.status in ("done", "truncated")
        assert reply.data.content.strip()

    loop.run_until_complete(main())


def test_a_history_that_tokenizes_badly_is_trimmed_by_the_real_tokenizer(
    client: CopilotClient, loop: asyncio.AbstractEventLoop
) -> None:
    """Hex runs ~1 token per 1.1 characters, so the 4-characters-a-token
    estimate lets ~3x too much through; llama.cpp would answer an empty
    stream. The local provider counts with the model's tokenizer and drops
    more."""

    async def main() -> Events:
        session = await client.create_session(model="local", streaming=True)
        rng = random.Random(2)
        client.store.append(
            session.session_id,
            *(
                {"t": "msg", "role": ("user", "assistant")[i % 2],
                 "content": rng.randbytes(300).hex(), "ts": time.time()}
                for i in range(40)
            ),
        )  # fmt: skip
        session.refresh()
        events = Events(session)
        reply = await session.send_and_wait("What was that?", timeout=180)
        assert reply is not None and reply.data.status in ("done", "truncated")
        return events

    events = loop.run_until_complete(main())
    status = [e.data.message for e in events.of("copilot_repl.status")]
    assert any("more earlier messages left out" in s for s in status), status
    assert not events.of("session.error")


async def killed_mid_reply(client: CopilotClient, sig: int) -> tuple[Any, Events]:
    """A session whose server is sent ``sig`` once its reply has begun,
    after the turn has ended."""
    session = await client.create_session(model="local", streaming=True)
    events = Events(session)
    await session.send("Tell me a long story about a dragon and a lighthouse.")
    await asyncio.wait_for(events.first_delta.wait(), 120)
    server = client.provider("local").server  # type: ignore[attr-defined]
    os.kill(server.proc.pid, sig)
    await session.wait(30)
    return session, events


def test_a_server_that_dies_mid_reply_is_one_error_and_the_next_prompt_restarts_it(
    client: CopilotClient, loop: asyncio.AbstractEventLoop
) -> None:
    async def main() -> None:
        session, events = await killed_mid_reply(client, signal.SIGKILL)
        errors = [e.data.message for e in events.of("session.error")]
        assert errors == [errors[0]] and "local model server was killed by SIGKILL" in errors[0]
        assert session.messages[-1].status == "interrupted"  # the partial reply is kept
        events.all.clear()
        reply = await session.send_and_wait("Say hello.", timeout=120)
        assert (
            reply is not None
            and reply.data.status in ("done", "truncated")
            and reply.data.content.strip()
        )
        status = [e.data.message for e in events.of("copilot_repl.status")]
        assert status == ["starting local model…"]

    loop.run_until_complete(main())


def test_a_server_that_crashes_says_where_why_and_how_to_rebuild(
    client: CopilotClient, loop: asyncio.AbstractEventLoop
) -> None:
    """A fatal signal in the server (what llama.cpp's AMX code does) is one
    error naming the signal, the Python frame it hit, and the rebuild: the
    log holds faulthandler's dump, never nothing."""

    async def main() -> None:
        _, events = await killed_mid_reply(client, signal.SIGSEGV)
        errors = [e.data.message for e in events.of("session.error")]
        assert len(errors) == 1, errors
        assert "local model server was killed by SIGSEGV" in errors[0]
        assert "Fatal Python error: Segmentation fault" in errors[0]
        assert "llama.cpp crashed; rebuild it portable: `make local-rebuild`" in errors[0]
        assert "\n" not in errors[0]

    loop.run_until_complete(main())


# -- the warm start (CopilotClient.warm, LocalProvider.warm) ----------------------------
def shell_in_pty(home: Path, *args: str) -> Any:
    """copilot-repl's shell in a pseudo-terminal (cursor position requests answered)."""
    import pexpect

    return pexpect.spawn(
        sys.executable,
        ["-m", "copilot_repl", *args],
        env=clean_env(COPILOT_REPL_HOME=str(home), TERM="xterm"),
        cwd=str(ROOT),
        dimensions=(30, 100),
        timeout=120,
    )


def read_until(child: Any, pattern: str, seen: bytearray) -> None:
    """Read the terminal until ``pattern`` shows, escape sequences left out
    (a guard, not a timing)."""
    import re

    import pexpect

    deadline = time.monotonic() + 120
    while pattern not in re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", seen.decode(errors="replace")):
        assert time.monotonic() < deadline, f"{pattern!r} never shown: {bytes(seen[-400:])!r}"
        try:
            data = child.read_nonblocking(65536, timeout=0.2)
        except pexpect.TIMEOUT:
            continue
        seen += data
        for _ in range(data.count(b"\x1b[6n")):
            child.send(b"\x1b[1;1R")


def test_the_shell_starts_the_server_before_the_first_prompt_and_stops_it(home: Path) -> None:
    import pexpect

    fast_home(home)
    child = shell_in_pty(home)
    seen = bytearray()
    try:
        read_until(child, "main local:smollm2 ›", seen)
        deadline = time.monotonic() + 60
        while not (before := servers(home)) and time.monotonic() < deadline:
            time.sleep(0.05)  # nothing typed: it starts on its own
        assert len(before) == 1, "no server started in the background"
        child.send(b"hi\r")
        read_until(child, " tokens · ", seen)  # the stats line after the reply
        assert servers(home) == before  # the reply came from that server
        child.send(b"\x04")
        child.expect(pexpect.EOF, timeout=60)
    finally:
        child.close(force=True)
    assert wait_gone(home) == [], "the shell exited without stopping its server"
    assert messages(home, "main", "assistant")[-1]["content"].strip()


def test_no_server_starts_for_a_session_on_another_provider(home: Path) -> None:
    import pexpect
    from fakeserver import FakeServer

    fast_home(home)
    with FakeServer() as server:
        child = shell_in_pty(home, "--base-url", server.url)
        seen = bytearray()
        try:
            read_until(child, "main openai:gpt-4o-mini ›", seen)
            # a warm-up would have spawned the server before a typed line runs
            child.send(b"hello\r")
            read_until(child, "echo: hello", seen)
            assert servers(home) == []
            child.send(b"\x04")
            child.expect(pexpect.EOF, timeout=60)
        finally:
            child.close(force=True)
    assert servers(home) == []


def test_a_server_still_loading_is_stopped_with_the_client(home: Path) -> None:
    fast_home(home)

    async def main() -> list[int]:
        client = CopilotClient(env=clean_env(COPILOT_REPL_HOME=str(home)))
        await client.start()
        client.provider("local").warm()
        deadline = time.monotonic() + 60
        while not (started := servers(home)) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        await client.stop()  # most likely while the model still loads
        return started

    assert len(asyncio.run(main())) == 1
    assert servers(home) == []  # stopped by client.stop(), not later


def test_a_prompt_sent_while_the_server_warms_up_waits_for_it(home: Path) -> None:
    fast_home(home)

    async def main() -> tuple[list[str], list[int], list[int]]:
        client = CopilotClient(env=clean_env(COPILOT_REPL_HOME=str(home)))
        async with client:
            session = await client.create_session(model="local", streaming=True)
            client.provider("local").warm()
            events = Events(session)
            reply = await session.send_and_wait("hi", timeout=120)
            assert reply is not None and reply.data.content.strip()
            during = servers(home)
            pid = client.provider("local").server.proc.pid  # type: ignore[attr-defined]
        status = [e.data.message for e in events.of("copilot_repl.status")]
        return status, during, [pid]

    status, during, pid = asyncio.run(main())
    assert during == pid  # one server: the one warming up answered
    assert status == ["starting local model…"]  # said once, while it waited
