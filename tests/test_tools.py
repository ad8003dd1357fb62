"""Tools in sessions (``define_tool``, ``tools=``): the SDK's definitions, the
openai provider's streamed tool calls, and the model -> tools -> model loop
with its events, against the loopback server's tool-calling model."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from fakeserver import FakeServer, Reply
from pydantic import BaseModel, Field

from copilot_repl import CopilotClient
from copilot_repl.api.events import SessionEvent
from copilot_repl.api.toolrun import MAX_TOOL_OUTPUT
from copilot_repl.api.turn import MAX_TOOL_ROUNDS
from copilot_repl.config import ProviderSettings
from copilot_repl.generated.rpc import PermissionDecisionReject
from copilot_repl.providers.openai import OpenAIProvider
from copilot_repl.session import PermissionHandler
from copilot_repl.tools import Tool, ToolInvocation, ToolResult, define_tool


class CityParams(BaseModel):
    city: str = Field(description="The city to look up")


@define_tool(description="The weather in a city")
def get_weather(params: CityParams) -> str:
    return f"sunny in {params.city}"


def client_for(server: FakeServer, home: Path) -> CopilotClient:
    return CopilotClient(data_dir=str(home), base_url=server.url)


def kinds(events: list[SessionEvent]) -> list[str]:
    skip = {"pending_messages.modified", "assistant.usage", "copilot_repl.status"}
    return [e.type.value for e in events if e.type.value not in skip]


async def run(
    server: FakeServer, home: Path, prompt: str, **options: Any
) -> tuple[list[SessionEvent], str | None]:
    options.setdefault("on_permission_request", PermissionHandler.approve_all)
    async with client_for(server, home) as client:
        session = await client.create_session(**options)
        seen: list[SessionEvent] = []
        session.on(seen.append)
        reply = await session.send_and_wait(prompt)
    return seen, reply.data.content if reply else None


# -- define_tool ---------------------------------------------------------------------
def test_the_decorator_takes_name_and_schema_from_the_function() -> None:
    assert get_weather.name == "get_weather"
    assert get_weather.description == "The weather in a city"
    assert get_weather.parameters == CityParams.model_json_schema()
    assert get_weather.parameters["required"] == ["city"]


async def test_handlers_are_called_as_their_signature_asks() -> None:
    async def add(params: dict[str, int], invocation: ToolInvocation) -> dict[str, Any]:
        return {"sum": params["a"] + params["b"], "call": invocation.tool_call_id}

    tool = define_tool("add", description="Add", handler=add)
    result = await call(tool, {"a": 2, "b": 3}, "c1")
    assert json.loads(result.text_result_for_llm) == {"sum": 5, "call": "c1"}

    @define_tool(description="who")
    def who(invocation: ToolInvocation) -> str:
        return invocation.tool_name

    assert (await call(who, {})).text_result_for_llm == "who"

    @define_tool(name="nothing")
    def nothing() -> None:
        return None

    assert (await call(nothing, {})) == ToolResult()
    declared = define_tool("later", description="d", params_type=CityParams)
    assert declared.handler is None and declared.parameters == CityParams.model_json_schema()


async def test_an_exception_is_the_sdks_failure_and_bad_arguments_are_named() -> None:
    @define_tool(description="boom")
    def boom(params: CityParams) -> str:
        raise KeyError("secret detail")

    failed = await call(boom, {"city": "x"})
    assert failed.result_type == "failure" and failed._from_exception
    assert "secret detail" not in failed.text_result_for_llm
    assert "secret detail" in (failed.error or "")
    invalid = await call(get_weather, {"town": "Rome"})
    assert invalid.result_type == "failure" and not invalid._from_exception
    assert invalid.text_result_for_llm == "Invalid tool arguments:\ncity: Field required"


async def call(tool: Tool, arguments: Any, call_id: str = "c") -> ToolResult:
    assert tool.handler is not None
    result = tool.handler(ToolInvocation("s", call_id, tool.name, arguments))
    if asyncio.iscoroutine(result):
        result = await result
    assert isinstance(result, ToolResult)
    return result


def test_pydantic_is_imported_only_when_a_tool_is_defined() -> None:
    probe = (
        "import sys\nimport copilot_repl, copilot_repl.tools\n"
        "from copilot_repl import CopilotClient\nimport copilot_repl.api.session\n"
        "t = copilot_repl.tools.Tool('t', 'd')\n"
        "print('pydantic' in sys.modules)\n"
        "copilot_repl.define_tool(description='x')(lambda params: None)\n"
        "print('pydantic' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


# -- the openai provider -----------------------------------------------------------------
async def test_streamed_tool_calls_are_assembled(server: FakeServer) -> None:
    server.queue(Reply(tool_calls=[("a", '{"x": 1, "y": "two"}'), ("b", "{bad")]))
    config = ProviderSettings(name="openai", kind="openai", base_url=server.url)
    provider = OpenAIProvider(config, {})
    tools = [{"type": "function", "function": {"name": "a", "parameters": {}}}]
    try:
        end = await provider.stream(
            "gpt-4o-mini", [{"role": "user", "content": "hi"}], print, print, tools=tools
        )
    finally:
        await provider.aclose()
    assert end.finish_reason == "tool_calls" and end.text == ""
    assert [(c.name, c.arguments) for c in end.tool_calls] == [
        ("a", '{"x": 1, "y": "two"}'),
        ("b", "{bad"),
    ]
    assert len({c.id for c in end.tool_calls}) == 2
    body = server.requests[-1]["body"]
    assert body["tools"] == tools and "tool_choice" not in body  # as the CLI


# -- the session loop ------------------------------------------------------------------------
async def test_one_call_runs_as_on_the_sdk(server: FakeServer, home: Path) -> None:
    seen, reply = await run(
        server, home, 'go #call=get_weather:{"city":"Paris"}', tools=[get_weather]
    )
    assert reply == "tools: sunny in Paris"
    assert kinds(seen) == [
        "user.message",
        "assistant.turn_start",
        "assistant.message",
        "tool.execution_start",
        "permission.requested",
        "permission.completed",
        "external_tool.requested",
        "external_tool.completed",
        "tool.execution_complete",
        "assistant.turn_end",
        "assistant.turn_start",
        "assistant.message",
        "assistant.turn_end",
        "session.idle",
    ]
    first = next(e.data for e in seen if e.type.value == "assistant.message")
    assert first.content == "" and [(r.name, r.arguments) for r in first.tool_requests] == [
        ("get_weather", {"city": "Paris"})
    ]
    done = next(e.data for e in seen if e.type.value == "tool.execution_complete")
    assert done.success and done.result.content == "sunny in Paris"
    assert done.tool_call_id == first.tool_requests[0].tool_call_id
    asked = next(e.data for e in seen if e.type.value == "permission.requested")
    assert asked.permission_request.kind == "custom-tool"
    first_req, second = (r["body"] for r in server.requests[-2:])
    assert [t["function"]["name"] for t in first_req["tools"]] == ["get_weather"]
    assistant, tool = second["messages"][-2:]
    assert assistant["tool_calls"][0]["function"] == {
        "name": "get_weather",
        "arguments": '{"city":"Paris"}',
    }
    assert tool == {
        "role": "tool",
        "tool_call_id": assistant["tool_calls"][0]["id"],
        "content": "sunny in Paris",
    }


async def test_refused_unknown_and_malformed_calls_are_told_to_the_model(
    server: FakeServer, home: Path
) -> None:
    ran: list[str] = []

    @define_tool(description="note")
    def note(params: CityParams) -> str:
        ran.append(params.city)
        return "noted"

    def refuse(request: Any, invocation: Any) -> Any:
        return PermissionDecisionReject(feedback="not today")

    prompt = 'x #call=note:{"city":"Lima"} #call=nosuch:{} #call=note:{bad'
    seen, reply = await run(server, home, prompt, tools=[note], on_permission_request=refuse)
    assert ran == []
    assert reply == (
        "tools: The user rejected this tool call. User feedback: not today"
        " | Tool 'nosuch' does not exist. Available tools that can be called are note."
        " | The arguments for the tool call 'note' were not valid JSON. The arguments have been"
        " cleared. Arguments: {bad. JSON parse error: Expecting property name enclosed in"
        " double quotes: line 1 column 2 (char 1)"
    )
    assert kinds(seen).count("permission.requested") == 1  # only the well-formed call
    completed = [e.data for e in seen if e.type.value == "tool.execution_complete"]
    assert [c.success for c in completed] == [False, False, False]
    sent_back = server.requests[-1]["body"]["messages"][-4]["tool_calls"]
    assert [c["function"]["arguments"] for c in sent_back] == ['{"city":"Lima"}', "{}", "{}"]


async def test_without_a_permission_handler_a_tool_is_refused_unless_it_skips_asking(
    server: FakeServer, home: Path
) -> None:
    seen, reply = await run(
        server,
        home,
        'x #call=get_weather:{"city":"Oslo"}',
        tools=[get_weather],
        on_permission_request=None,
    )
    assert reply is not None and "no permission handler" in reply
    completed = next(e.data for e in seen if e.type.value == "permission.completed")
    assert completed.result.kind == "denied-no-approval-rule-and-could-not-request-from-user"

    @define_tool(description="free", skip_permission=True)
    def free(params: CityParams) -> str:
        return "free " + params.city

    seen, reply = await run(
        server, home, 'x #call=free:{"city":"Oslo"}', tools=[free], on_permission_request=None
    )
    assert reply == "tools: free Oslo"
    assert "permission.requested" not in kinds(seen)


async def test_available_and_excluded_tools_choose_what_is_offered(
    server: FakeServer, home: Path
) -> None:
    @define_tool(description="other")
    def other() -> str:
        return "o"

    await run(server, home, "hi", tools=[get_weather, other], available_tools=["other"])
    assert [t["function"]["name"] for t in server.requests[-1]["body"]["tools"]] == ["other"]
    await run(server, home, "hi", tools=[get_weather, other], excluded_tools=["other"])
    offered = server.requests[-1]["body"]["tools"]
    assert [t["function"]["name"] for t in offered] == ["get_weather"]
    _, reply = await run(server, home, "hi #call=other:{}", tools=[other], excluded_tools=["other"])
    assert reply == "echo: hi #call=other:{}"  # nothing offered: no tools in the request
    assert "tools" not in server.requests[-1]["body"]


async def test_set_tools_replaces_what_the_next_request_offers(
    server: FakeServer, home: Path
) -> None:
    async with client_for(server, home) as client:
        session = await client.create_session(
            tools=[get_weather], on_permission_request=PermissionHandler.approve_all
        )
        await session.set_tools([define_tool("t2", description="2")(lambda: "two")])
        reply = await session.send_and_wait("x #call=t2:{}")
    assert reply is not None and reply.data.content == "tools: two"
    assert [t["function"]["name"] for t in server.requests[-1]["body"]["tools"]] == ["t2"]


async def test_the_loop_stops_after_the_round_cap(server: FakeServer, home: Path) -> None:
    @define_tool(description="again")
    def again() -> str:
        return "more"

    server.queue(*[Reply(tool_calls=[("again", "{}")], finish_reason="tool_calls")] * 30)
    async with client_for(server, home) as client:
        session = await client.create_session(
            tools=[again], on_permission_request=PermissionHandler.approve_all
        )
        with pytest.raises(Exception, match=f"asked for tools {MAX_TOOL_ROUNDS} times"):
            await session.send_and_wait("loop")
    server.clear()


async def test_abort_cancels_a_running_handler(server: FakeServer, home: Path) -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    @define_tool(description="slow")
    async def slow() -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    async with client_for(server, home) as client:
        session = await client.create_session(
            tools=[slow], on_permission_request=PermissionHandler.approve_all
        )
        seen: list[SessionEvent] = []
        session.on(seen.append)
        await session.send("x #call=slow:{}")
        await started.wait()
        await session.abort()
        await session.wait()
    assert cancelled.is_set()
    idle = [e.data for e in seen if e.type.value == "session.idle"]
    assert idle and idle[-1].aborted


async def test_tool_output_is_capped_before_the_model_sees_it(
    server: FakeServer, home: Path
) -> None:
    @define_tool(description="big")
    def big() -> str:
        return "x" * (MAX_TOOL_OUTPUT + 500)

    await run(server, home, "x #call=big:{}", tools=[big])
    sent = server.requests[-1]["body"]["messages"][-1]["content"]
    assert len(sent) < MAX_TOOL_OUTPUT + 100 and sent.endswith(
        "[tool output cut: 500 more characters]"
    )


# -- history -----------------------------------------------------------------------------
async def test_tool_rounds_are_saved_resent_replayed_forked_and_exported(
    server: FakeServer, home: Path
) -> None:
    await run(
        server,
        home,
        'go #call=get_weather:{"city":"Paris"}',
        tools=[get_weather],
        session_id="w",
    )
    lines = (home / "sessions" / "w.jsonl").read_text().splitlines()
    record = [r for r in map(json.loads, lines) if r.get("t") == "msg"][-1]
    assert record["content"] == "tools: sunny in Paris"
    [round_] = record["tools"]
    assert round_["calls"][0]["function"]["name"] == "get_weather"
    assert round_["results"][0]["content"] == "sunny in Paris" and round_["results"][0]["ok"]
    async with client_for(server, home) as client:
        session = await client.resume_session(
            "w", tools=[get_weather], on_permission_request=PermissionHandler.approve_all
        )
        replayed = await session.get_events()
        await session.send_and_wait("and now?")
        body = server.requests[-1]["body"]
        forked = await client.fork_session("w", "w2")
        assert forked.messages[1].tools == session.messages[1].tools
    assert [m["role"] for m in body["messages"]] == [
        "user",
        "assistant",
        "tool",
        "assistant",
        "user",
    ]
    assert body["messages"][1]["tool_calls"] == round_["calls"]
    skip = {"assistant.turn_start", "assistant.turn_end"}  # the event log holds all
    assert [e.type.value for e in replayed if e.type.value not in skip] == [
        "session.start",
        "user.message",
        "assistant.message",
        "tool.execution_start",
        "permission.requested",
        "permission.completed",
        "external_tool.requested",
        "external_tool.completed",
        "tool.execution_complete",
        "assistant.message",
        "session.resume",  # as on the SDK, in the log from the moment of resuming
    ]
    by_type = {e.type.value: e.data for e in replayed}
    asked = next(e.data for e in replayed if e.type.value == "assistant.message")
    assert asked.tool_requests[0].arguments == {"city": "Paris"}
    assert by_type["tool.execution_complete"].result.content == "sunny in Paris"
    assert by_type["assistant.message"].content == "tools: sunny in Paris"
    from copilot_repl.history.exchange import export_session, parse_document
    from copilot_repl.history.store import Store

    doc = export_session(Store(home), "w")
    assert doc["messages"][1]["tools"] == [round_]
    assert parse_document(json.loads(json.dumps(doc)), "x").data.messages[1].tools == [round_]


def test_trimming_keeps_a_round_with_its_results() -> None:
    from copilot_repl.history.messages import Message, api_messages, trim_history

    rounds = [
        {
            "text": "",
            "calls": [
                {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ],
            "results": [{"tool_call_id": "c", "content": "r" * 4000, "ok": True}],
        }
    ]
    history = [
        Message("user", "old"),
        Message("assistant", "answer", tools=rounds),
        Message("user", "new"),
    ]
    kept, dropped = trim_history(history, "", 800)  # the round is too big to keep
    assert dropped == 2 and [m.content for m in kept] == ["new"]
    kept, dropped = trim_history(history, "", 5000)
    sent = api_messages("", kept)
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "assistant", "user"]


def test_a_malformed_tool_round_is_a_corrupt_record() -> None:
    from copilot_repl.history.records import Corrupt, check

    good = {"t": "msg", "role": "assistant", "content": "x", "tools": []}
    assert check(good).tools is None  # type: ignore[union-attr]
    for bad in ({"tools": {}}, {"tools": [{"calls": [], "results": [{"content": 1}]}]}):
        with pytest.raises(Corrupt):
            check({**good, **bad})


async def test_the_embedded_model_says_in_one_line_that_it_cannot_call_tools(
    server: FakeServer, home: Path
) -> None:
    async with CopilotClient(data_dir=str(home), model="local:smollm2") as client:
        session = await client.create_session(
            tools=[get_weather], on_permission_request=PermissionHandler.approve_all
        )
        with pytest.raises(Exception, match="the embedded model cannot call tools") as caught:
            await session.send_and_wait("hi")
    assert "\n" not in str(caught.value)


def test_the_readme_tool_example_runs(server: FakeServer, home: Path) -> None:
    import os
    import re

    root = Path(__file__).resolve().parent.parent
    section = (root / "README.md").read_text().split("## Tools and MCP servers", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    env = {
        **os.environ,
        "OPENAI_BASE_URL": server.url,
        "COPILOT_REPL_HOME": str(home),
        "PYTHONPATH": str(root),
    }
    # the test model calls a tool when the prompt says which (tests/fakeserver.py)
    code = match.group(1).replace(
        "in Paris?", 'in Paris? #call=get_weather:{\\"city\\":\\"Paris\\"}'
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "tool.execution_complete" in done.stdout.splitlines()
    assert done.stdout.splitlines()[-1] == "tools: sunny in Paris"


async def test_cancelling_while_a_handler_runs_ends_send_and_wait_as_aborted(
    server: FakeServer, home: Path
) -> None:
    @define_tool(description="slow")
    async def slow() -> str:
        await asyncio.Event().wait()
        return "never"

    async with client_for(server, home) as client:
        session = await client.create_session(
            tools=[slow], on_permission_request=PermissionHandler.approve_all
        )
        asked = asyncio.Event()
        session.on(lambda e: asked.set() if e.type.value == "external_tool.requested" else None)
        waiting = asyncio.create_task(session.send_and_wait("x #call=slow:{}"))
        await asked.wait()
        await session.cancel_reply()
        with pytest.raises(RuntimeError, match="aborted"):
            await waiting


# -- a rejection ends the turn (as CLI 1.0.102) --------------------------------------
async def test_a_refusal_without_feedback_ends_the_turn_after_its_round(
    server: FakeServer, home: Path
) -> None:
    def refuse(request: Any, invocation: Any) -> Any:
        return PermissionDecisionReject()

    async with client_for(server, home) as client:
        session = await client.create_session(tools=[get_weather], on_permission_request=refuse)
        seen: list[SessionEvent] = []
        session.on(seen.append)
        before = len(server.requests)
        reply = await session.send_and_wait('x #call=get_weather:{"city":"Lima"}')
        assert len(server.requests) == before + 1  # the model is not asked again
        assert reply is not None and reply.data.content == ""  # the message asking for it
        assert kinds(seen)[-5:] == [
            "tool.execution_complete",
            "assistant.turn_end",
            "abort",
            "session.info",
            "session.idle",
        ]
        done = next(e.data for e in seen if e.type.value == "tool.execution_complete")
        assert done.error is not None and done.error.code == "rejected"
        info = next(e for e in seen if e.type.value == "session.info")
        assert info.ephemeral and info.data.message == "Operation cancelled by user"
        idle = seen[-1].data
        assert idle.aborted is None
        saved = [e.type.value for e in await session.get_events()]
        assert saved[-3:] == ["tool.execution_complete", "assistant.turn_end", "abort"]
        assert saved.count("assistant.message") == 1
        last = (await session.get_events())[-1]
        assert [e.id for e in seen if e.type.value == "abort"] == [last.id]
        await session.send_and_wait("and now?")
    sent = server.requests[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]
    assert sent[2]["content"] == "The user rejected this tool call."


async def test_a_rejected_result_ends_the_turn_without_an_abort(
    server: FakeServer, home: Path
) -> None:
    @define_tool("ship", description="Ships")
    def ship(invocation: ToolInvocation) -> ToolResult:
        return ToolResult(text_result_for_llm="blocked by policy", result_type="rejected")

    async with client_for(server, home) as client:
        session = await client.create_session(
            tools=[ship], on_permission_request=PermissionHandler.approve_all
        )
        seen: list[SessionEvent] = []
        session.on(seen.append)
        before = len(server.requests)
        reply = await session.send_and_wait("x #call=ship:{}")
        assert len(server.requests) == before + 1
        assert reply is not None and reply.data.content == ""
        assert kinds(seen)[-3:] == ["tool.execution_complete", "assistant.turn_end", "session.idle"]
        assert "abort" not in kinds(seen)
        saved = [e.type.value for e in await session.get_events()]
        assert saved[-2:] == ["tool.execution_complete", "assistant.turn_end"]
        await session.send_and_wait("why?")
        assert [e.type.value for e in await session.get_events()][-1] == "assistant.turn_end"
    sent = server.requests[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant", "tool", "user"]
    assert sent[2]["content"] == "blocked by policy"
