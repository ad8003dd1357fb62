"""The tool timeout (``tool_timeout`` in config.toml): a sync handler that
blocks runs in a thread of its own, so the event loop goes on and the
timeout fires; an async handler that hangs is timed out the same way. The
model is told, and the turn goes on."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from fakeserver import FakeServer

from copilot_repl import CopilotClient
from copilot_repl.api.toolrun import TOOL_TIMEOUT
from copilot_repl.config import load_config
from copilot_repl.errors import ConfigError
from copilot_repl.session import PermissionHandler
from copilot_repl.tools import define_tool

RELEASE_AFTER = 60.0  # a guard: the blocked handler gives up by itself (never asserted on)


def client_with_timeout(tmp_path: Path, server: FakeServer, home: Path) -> CopilotClient:
    config = tmp_path / "config.toml"
    config.write_text("tool_timeout = 0.2\n")
    return CopilotClient(data_dir=str(home), base_url=server.url, config_path=str(config))


async def test_a_blocking_sync_handler_times_out_and_the_loop_goes_on(
    tmp_path: Path, server: FakeServer, home: Path
) -> None:
    release, entered = threading.Event(), threading.Event()
    loop_ran: list[str] = []

    @define_tool(description="blocks")
    def block() -> str:
        entered.set()
        release.wait(RELEASE_AFTER)  # blocks its thread (before: the whole event loop)
        return "finished"

    async def beside() -> None:  # runs only if the loop is free while block() blocks
        while not entered.is_set():
            await asyncio.sleep(0.01)
        loop_ran.append("yes")

    try:
        async with client_with_timeout(tmp_path, server, home) as client:
            session = await client.create_session(
                tools=[block], on_permission_request=PermissionHandler.approve_all
            )
            other = asyncio.create_task(beside())
            reply = await session.send_and_wait("x #call=block:{}")
            await other
            again = await session.send_and_wait("after")
    finally:
        release.set()
    assert reply is not None
    assert reply.data.content == "tools: The tool 'block' did not finish within 0.2 s."
    assert loop_ran == ["yes"]
    assert again is not None and again.data.content == "echo: after"


async def test_an_async_handler_that_hangs_times_out_too(
    tmp_path: Path, server: FakeServer, home: Path
) -> None:
    @define_tool(description="hangs")
    async def hang() -> str:
        await asyncio.Event().wait()
        return "never"

    async with client_with_timeout(tmp_path, server, home) as client:
        session = await client.create_session(
            tools=[hang], on_permission_request=PermissionHandler.approve_all
        )
        seen: list[object] = []
        session.on(seen.append)
        reply = await session.send_and_wait("x #call=hang:{}")
    assert reply is not None
    assert reply.data.content == "tools: The tool 'hang' did not finish within 0.2 s."
    done = [e.data for e in seen if e.type.value == "tool.execution_complete"]  # type: ignore[attr-defined]
    assert [d.success for d in done] == [False]


def test_the_timeout_is_a_checked_config_key(tmp_path: Path) -> None:
    assert load_config(env={}, data_dir=tmp_path).tool_timeout == TOOL_TIMEOUT
    config = tmp_path / "config.toml"
    config.write_text("tool_timeout = 30\n")
    assert load_config(env={}, data_dir=tmp_path, config_path=config).tool_timeout == 30.0
    for bad in ("0", "-1", '"long"', "true"):
        config.write_text(f"tool_timeout = {bad}\n")
        with pytest.raises(ConfigError, match="'tool_timeout' is seconds, more than 0"):
            load_config(env={}, data_dir=tmp_path, config_path=config)


async def test_each_call_of_a_round_has_its_own_duration(server: FakeServer, home: Path) -> None:
    fast_done = asyncio.Event()
    gap = 0.5

    @define_tool(description="slow")
    async def slow() -> str:
        await fast_done.wait()
        until = time.monotonic() + gap  # ends at least ``gap`` after fast did
        while time.monotonic() < until:
            await asyncio.sleep(0.05)
        return "slow"

    @define_tool(description="fast")
    async def fast() -> str:
        return "fast"

    async with CopilotClient(data_dir=str(home), base_url=server.url) as client:
        session = await client.create_session(
            tools=[slow, fast], on_permission_request=PermissionHandler.approve_all
        )
        seen: list[Any] = []

        def on(event: Any) -> None:
            seen.append(event)
            if (
                event.type.value == "external_tool.completed"
                and len([e for e in seen if e.type.value == "external_tool.completed"]) == 1
            ):
                fast_done.set()  # the first to end is fast

        session.on(on)
        reply = await session.send_and_wait("x #call=slow:{} #call=fast:{}")
    assert reply is not None and reply.data.content == "tools: slow | fast"
    took = {
        e.data.result.content: e.data.duration
        for e in seen
        if e.type.value == "tool.execution_complete"
    }
    # slow started first and ended ``gap`` after fast: fast's time is its own
    assert took["fast"] + gap * 0.8 <= took["slow"]
