"""A session's provider is made ready when the session is opened (issue 26,
goal 3): ``create_session``/``resume_session`` load httpx and its client,
so no send pays for it; ``lazy_providers=True`` (the command line's client)
leaves it to the first send. Either way a send sees the same server, sends
the same request and meets the same errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fakeserver import FakeServer

from copilot_repl import CopilotClient
from copilot_repl.errors import ReplError

NOTHING_LISTENS = "http://127.0.0.1:9/v1"  # nothing is asked: no request is made
PROBE = """
import asyncio, json, sys
from copilot_repl import CopilotClient

async def main(lazy, resume):
    if resume:  # made by a client that does not load httpx
        async with CopilotClient(data_dir=sys.argv[1], base_url=sys.argv[2],
                                 lazy_providers=True) as maker:
            await maker.create_session(session_id="s", model="openai:m")
    async with CopilotClient(data_dir=sys.argv[1], base_url=sys.argv[2],
                             lazy_providers=lazy) as client:
        before = "httpx" in sys.modules
        if resume:
            await client.resume_session("s")
        else:
            await client.create_session(session_id="s", model="openai:m")
        return [before, "httpx" in sys.modules]

print(json.dumps(asyncio.run(main(sys.argv[3] == "lazy", sys.argv[4] == "resume"))))
"""


def httpx_loaded(home: Path, lazy: bool, resume: bool) -> list[bool]:
    """Whether a fresh interpreter holds httpx before and after the session
    is opened (created, or resumed after a lazy client created it)."""
    args = [str(home), NOTHING_LISTENS, "lazy" if lazy else "eager"]
    args.append("resume" if resume else "create")
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    result: list[bool] = json.loads(proc.stdout)
    return result


@pytest.mark.parametrize("resume", [False, True], ids=["create", "resume"])
def test_opening_a_session_loads_its_http_client_unless_lazy(home: Path, resume: bool) -> None:
    assert httpx_loaded(home / "a", lazy=False, resume=resume) == [False, True]
    assert httpx_loaded(home / "b", lazy=True, resume=resume) == [False, False]


def client(server_url: str, home: Path, lazy: bool, **kw: Any) -> CopilotClient:
    return CopilotClient(data_dir=str(home), base_url=server_url, lazy_providers=lazy, **kw)


async def one_send(server: FakeServer, home: Path, lazy: bool) -> tuple[str, dict[str, Any]]:
    async with client(server.url, home, lazy) as c:
        session = await c.create_session(session_id="s", model="openai:m")
        reply = await session.send_and_wait("hello")
    assert reply is not None
    request = server.requests[-1]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    return reply.data.content, {"body": request["body"], "headers": headers}


async def test_the_request_is_the_same_whether_prepared_or_lazy(
    server: FakeServer, home: Path
) -> None:
    eager = await one_send(server, home / "eager", lazy=False)
    lazy = await one_send(server, home / "lazy", lazy=True)
    assert eager == lazy
    assert eager[0] == "echo: hello"


async def failure(home: Path, lazy: bool, key: str) -> str:
    """A key with a trailing CR: opening the session says nothing, the send
    says what is wrong (as it did before sessions were prepared)."""
    env = {"OPENAI_API_KEY": key}
    async with client(NOTHING_LISTENS, home, lazy, env=env) as c:
        session = await c.create_session(session_id="s", model="openai:m")
        try:
            await session.send_and_wait("hello", timeout=30)
        except ReplError as exc:
            return f"{type(exc).__name__}: {exc}"
    raise AssertionError("the send succeeded")


async def test_a_bad_key_is_said_by_the_send_whether_prepared_or_lazy(home: Path) -> None:
    eager = await failure(home / "eager", lazy=False, key="sk-abcdefgh12345678\r")
    lazy = await failure(home / "lazy", lazy=True, key="sk-abcdefgh12345678\r")
    assert eager == lazy
    assert "OPENAI_API_KEY contains a control character (U+000D" in eager
