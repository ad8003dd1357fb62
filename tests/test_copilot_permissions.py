"""The Copilot provider asks each session's own permission handler: two
sessions streaming at once through the one provider they share never answer
each other's permission requests.

The Copilot CLI is stood in for at the SDK's boundary (the SDK client object
the provider talks to), as the loopback server stands in for an OpenAI
server: the provider, the sessions and the client are the real ones."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from copilot_repl import CopilotClient
from copilot_repl.providers.copilot import CopilotProvider, Runtime
from copilot_repl.providers.copilot_cli import SDK_DIST, CliProcess

try:
    metadata.distribution(SDK_DIST)
except metadata.PackageNotFoundError:
    pytest.skip("github-copilot-sdk is not installed", allow_module_level=True)


class StandInSession:
    """An SDK session whose every prompt asks permission for a tool, once
    every session has sent its prompt, and replies with the decision."""

    def __init__(self, sid: str, permission: Callable[..., Any], sent: asyncio.Barrier) -> None:
        self.sid = sid
        self.permission = permission
        self.sent = sent
        self.handlers: list[Callable[[Any], None]] = []
        self.tasks: list[asyncio.Task[None]] = []

    def on(self, handler: Callable[[Any], None]) -> Callable[[], None]:
        self.handlers.append(handler)
        return lambda: self.handlers.remove(handler)

    async def send(self, prompt: str) -> None:
        self.tasks.append(asyncio.create_task(self._reply()))

    async def _reply(self) -> None:
        await self.sent.wait()  # both turns are streaming now
        decision = await self.permission(SimpleNamespace(kind="shell"), {"session_id": self.sid})
        self._emit("assistant.message", SimpleNamespace(content=type(decision).__name__))
        self._emit("session.idle", None)

    def _emit(self, kind: str, data: Any) -> None:
        for handler in list(self.handlers):
            handler(SimpleNamespace(type=kind, data=data))

    async def abort(self) -> None:
        return None

    async def disconnect(self) -> None:
        return None


class StandInClient:
    """The SDK client: it keeps the permission handler each session was created with."""

    def __init__(self) -> None:
        self.sent = asyncio.Barrier(2)
        self.sessions: dict[str, StandInSession] = {}

    async def create_session(self, *, session_id: str, **options: Any) -> StandInSession:
        session = StandInSession(session_id, options["on_permission_request"], self.sent)
        self.sessions[session_id] = session
        return session

    async def resume_session(self, session_id: str, **options: Any) -> StandInSession | None:
        return None

    async def delete_session(self, session_id: str) -> None:
        return None

    async def force_stop(self) -> None:
        return None


async def test_two_sessions_each_answer_their_own_permission_requests(
    home: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("[providers.copilot]\ntools = true\nmax_parallel = 2\n")
    asked: dict[str, list[str]] = {"a": [], "b": []}

    def handler(name: str, decision: str) -> Callable[[Any, Any], dict[str, str]]:
        def answer(request: Any, invocation: Any) -> dict[str, str]:
            asked[name].append(request["description"])
            return {"kind": decision}

        return answer

    async with CopilotClient(data_dir=str(home), config_path=str(config)) as client:
        provider = client.provider("copilot")
        assert isinstance(provider, CopilotProvider)
        # a live process for the provider to watch, standing in for the CLI's
        process = CliProcess(Path(sys.executable), ["-c", "import sys; sys.stdin.read()"], {})
        await process.spawn()
        sdk = StandInClient()
        provider._runtime = Runtime(process, sdk)
        a = await client.create_session(
            session_id="a",
            model="copilot:gpt-4o-mini",
            on_permission_request=handler("a", "approve-once"),
        )
        b = await client.create_session(
            session_id="b",
            model="copilot:gpt-4o-mini",
            on_permission_request=handler("b", "denied-interactively-by-user"),
        )
        replies = await asyncio.gather(a.send_and_wait("run ls"), b.send_and_wait("run ls"))
        await asyncio.gather(*(t for s in sdk.sessions.values() for t in s.tasks))
    assert asked == {"a": ["shell"], "b": ["shell"]}
    texts = [r.data.content if r is not None else None for r in replies]
    assert texts == ["PermissionDecisionApproveOnce", "PermissionDecisionDeniedInteractivelyByUser"]
