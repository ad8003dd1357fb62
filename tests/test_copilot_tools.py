"""A session's own tools (``define_tool``) through the ``copilot`` provider:
the real SDK and Copilot CLI in BYOK mode, routed to the loopback server's
tool-calling model (``#call=NAME:ARGS``). The events and the permission flow
are those of the openai provider: our turn loop asks and runs the tool, the
CLI's turn waits for the result."""

from __future__ import annotations

import asyncio
import os
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from fakeserver import FakeServer
from pydantic import BaseModel

from copilot_repl import CopilotClient
from copilot_repl.api.events import SessionEvent
from copilot_repl.config import ProviderSettings
from copilot_repl.errors import CopilotError
from copilot_repl.generated.rpc import PermissionDecisionReject
from copilot_repl.providers.copilot import FRESH_NOTE
from copilot_repl.providers.copilot_cli import SDK_DIST, find_cli
from copilot_repl.session import PermissionHandler
from copilot_repl.tools import define_tool

try:
    metadata.distribution(SDK_DIST)
    find_cli(ProviderSettings(name="copilot", kind="copilot"), os.environ)
except metadata.PackageNotFoundError:
    pytest.skip("github-copilot-sdk is not installed", allow_module_level=True)
except CopilotError as exc:
    pytest.skip(f"no Copilot CLI: {exc}", allow_module_level=True)

WAIT = 60.0  # generous bound for a busy 2-core box; never asserted on
SKIP = {"pending_messages.modified", "assistant.usage", "copilot_repl.status"}


class CityParams(BaseModel):
    city: str


@define_tool(description="The weather in a city")
def get_weather(params: CityParams) -> str:
    return f"sunny in {params.city}"


def write_config(tmp_path: Path, server: FakeServer) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[providers.copilot]\nbyok_base_url = "{server.url}"\ndefault_model = "gpt-4o-mini"\n'
    )
    return path


def kinds(events: list[SessionEvent]) -> list[str]:
    return [e.type.value for e in events if e.type.value not in SKIP]


def chat_bodies(server: FakeServer) -> list[dict[str, Any]]:
    return [r["body"] for r in server.requests if r["path"].endswith("/chat/completions")]


async def one_turn(
    client: CopilotClient, model: str, prompt: str, **options: Any
) -> tuple[list[SessionEvent], str | None]:
    options.setdefault("on_permission_request", PermissionHandler.approve_all)
    session = await client.create_session(model=model, **options)
    seen: list[SessionEvent] = []
    session.on(seen.append)
    reply = await session.send_and_wait(prompt, timeout=WAIT)
    return seen, reply.data.content if reply else None


async def test_a_tool_runs_with_the_events_of_the_openai_provider(
    tmp_path: Path, server: FakeServer, home: Path
) -> None:
    prompt = 'go #call=get_weather:{"city":"Paris"}'
    async with CopilotClient(
        data_dir=str(home), config_path=str(write_config(tmp_path, server)), base_url=server.url
    ) as client:
        via_openai, openai_reply = await one_turn(
            client, "openai:gpt-4o-mini", prompt, tools=[get_weather]
        )
        server.requests.clear()
        via_copilot, reply = await one_turn(
            client, "copilot:gpt-4o-mini", prompt, tools=[get_weather]
        )
    assert reply == openai_reply == "tools: sunny in Paris"
    assert kinds(via_copilot) == kinds(via_openai)
    asked = next(e.data for e in via_copilot if e.type.value == "permission.requested")
    assert asked.permission_request.kind == "custom-tool"
    first = next(e.data for e in via_copilot if e.type.value == "assistant.message")
    assert [(r.name, r.arguments) for r in first.tool_requests] == [
        ("get_weather", {"city": "Paris"})
    ]
    done = next(e.data for e in via_copilot if e.type.value == "tool.execution_complete")
    assert done.success and done.tool_call_id == first.tool_requests[0].tool_call_id
    offered, answered = chat_bodies(server)
    assert [t["function"]["name"] for t in offered["tools"]] == ["get_weather"]
    assert answered["messages"][-1]["role"] == "tool"
    assert answered["messages"][-1]["content"] == "sunny in Paris"


async def test_a_refused_tool_does_not_run_and_the_cli_model_is_told(
    tmp_path: Path, server: FakeServer, home: Path
) -> None:
    ran: list[str] = []

    @define_tool(description="note")
    def note(params: CityParams) -> str:
        ran.append(params.city)
        return "noted"

    def refuse(request: Any, invocation: Any) -> Any:
        return PermissionDecisionReject(feedback="not today")

    async with CopilotClient(
        data_dir=str(home), config_path=str(write_config(tmp_path, server))
    ) as client:
        seen, reply = await one_turn(
            client,
            "copilot:gpt-4o-mini",
            'x #call=note:{"city":"Lima"}',
            tools=[note],
            on_permission_request=refuse,
        )
    assert ran == []
    assert reply == "tools: The user rejected this tool call. User feedback: not today"
    done = next(e.data for e in seen if e.type.value == "tool.execution_complete")
    assert not done.success


async def test_the_turn_after_a_tool_round_sends_only_the_new_prompt_and_tools_can_change(
    tmp_path: Path, server: FakeServer, home: Path
) -> None:
    async with CopilotClient(
        data_dir=str(home), config_path=str(write_config(tmp_path, server))
    ) as client:
        session = await client.create_session(
            model="copilot:gpt-4o-mini",
            tools=[get_weather],
            on_permission_request=PermissionHandler.approve_all,
        )
        seen: list[SessionEvent] = []
        session.on(seen.append)
        await session.send_and_wait('a #call=get_weather:{"city":"Rome"}', timeout=WAIT)
        await session.send_and_wait("and then?", timeout=WAIT)
        after = chat_bodies(server)[-1]
        assert [m["role"] for m in after["messages"]][-5:] == [
            "user",
            "assistant",
            "tool",
            "assistant",
            "user",
        ]
        await session.set_tools([define_tool("t2", description="2")(lambda: "two")])
        reply = await session.send_and_wait("x #call=t2:{}", timeout=WAIT)
    assert reply is not None and reply.data.content == "tools: two"
    assert [t["function"]["name"] for t in chat_bodies(server)[-1]["tools"]] == ["t2"]
    statuses = [e.data.message for e in seen if e.type.value == "copilot_repl.status"]
    assert FRESH_NOTE not in statuses  # one CLI session all along


async def test_abort_while_a_tool_runs_and_the_next_turn_goes_on(
    tmp_path: Path, server: FakeServer, home: Path
) -> None:
    started = asyncio.Event()

    @define_tool(description="slow")
    async def slow() -> str:
        started.set()
        await asyncio.Event().wait()
        return "never"

    async with CopilotClient(
        data_dir=str(home), config_path=str(write_config(tmp_path, server))
    ) as client:
        session = await client.create_session(
            model="copilot:gpt-4o-mini",
            tools=[slow],
            on_permission_request=PermissionHandler.approve_all,
        )
        await session.send("x #call=slow:{}")
        await asyncio.wait_for(started.wait(), WAIT)
        await session.abort()
        reply = await session.send_and_wait("after", timeout=WAIT)
    assert reply is not None and reply.data.content.endswith("after")


async def test_a_relaunch_after_a_tool_turn_resumes_the_same_cli_session(
    tmp_path: Path, server: FakeServer, home: Path
) -> None:
    config = str(write_config(tmp_path, server))
    async with CopilotClient(data_dir=str(home), config_path=config) as first:
        session = await first.create_session(
            session_id="work",
            model="copilot:gpt-4o-mini",
            tools=[get_weather],
            on_permission_request=PermissionHandler.approve_all,
        )
        await session.send_and_wait('a #call=get_weather:{"city":"Rome"}', timeout=WAIT)
    async with CopilotClient(data_dir=str(home), config_path=config) as second:
        session = await second.resume_session(
            "work", tools=[get_weather], on_permission_request=PermissionHandler.approve_all
        )
        seen: list[SessionEvent] = []
        session.on(seen.append)
        reply = await session.send_and_wait("after relaunch", timeout=WAIT)
    assert reply is not None and reply.data.content.endswith("after relaunch")
    statuses = [e.data.message for e in seen if e.type.value == "copilot_repl.status"]
    assert FRESH_NOTE not in statuses  # our history is what the CLI session saw
    roles = [m["role"] for m in chat_bodies(server)[-1]["messages"]]
    assert roles[-5:] == ["user", "assistant", "tool", "assistant", "user"]
