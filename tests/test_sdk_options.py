"""SDK 1.0 options and calls that programs use (issue 23, items 6 to 10):
BYOK provider options honoured or refused in one line, client options,
SessionMetadata's 0.1 names, error types, lifecycle events, ``log()``,
``list_sessions`` summary, context and working-directory filter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from fakeserver import FakeServer, Reply

from copilot_repl import CopilotClient, RuntimeConnection
from copilot_repl.api.events import SessionEvent
from copilot_repl.client import SessionListFilter
from copilot_repl.errors import TurnFailed, UsageError
from copilot_repl.tools import ToolInvocation


def client_for(server: FakeServer, home: Path, **kw: object) -> CopilotClient:
    return CopilotClient(data_dir=str(home), base_url=server.url, **kw)


async def test_byok_headers_and_wire_model_reach_the_server(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        provider = {
            "type": "openai",
            "base_url": server.url,
            "headers": {"X-Conformance": "yes"},
            "wire_model": "wired-1",
            "max_output_tokens": 77,
        }
        s = await client.create_session(model="gpt-4.1", provider=provider)
        reply = await s.send_and_wait("hello")
    request = server.requests[-1]
    assert request["headers"].get("x-conformance") == "yes"
    assert request["body"]["model"] == "wired-1"
    assert request["body"]["max_tokens"] == 77
    assert reply is not None and reply.data.model == "wired-1"  # as the CLI: the wire model


@pytest.mark.parametrize(
    ("option", "said"),
    [
        ({"api_key_command": "pass show key"}, "provider api_key_command"),
        ({"azure": {"api_version": "2024"}}, "provider azure"),
        ({"wire_api": "responses"}, "wire_api 'responses'"),
        ({"transport": "websockets"}, "transport 'websockets'"),
        ({"type": "anthropic"}, "provider type 'anthropic'"),
        ({"colour": "blue"}, "provider 'colour': not a provider option"),
    ],
)
async def test_a_provider_option_not_honoured_is_refused_in_one_line(
    server: FakeServer, home: Path, option: dict[str, object], said: str
) -> None:
    async with client_for(server, home) as client:
        with pytest.raises(UsageError) as caught:
            await client.create_session(provider={"base_url": server.url, **option})
    assert said in str(caught.value) and "\n" not in str(caught.value)


async def test_sdk_1_client_options_are_accepted(server: FakeServer, home: Path) -> None:
    connection = RuntimeConnection.for_stdio(path="/nowhere/copilot")
    async with client_for(
        server,
        home,
        working_directory=str(home.parent),
        base_directory=None,
        connection=connection,
        telemetry={"otlp_endpoint": "http://127.0.0.1:9"},
        mode="copilot-cli",
    ) as client:
        s = await client.create_session()
        assert await s.send_and_wait("hi") is not None
        listed = await client.list_sessions()
    assert listed[0].context is not None
    assert listed[0].context.working_directory == os.path.realpath(home.parent)


async def test_metadata_has_the_0_1_names_summary_context_and_the_filter(
    server: FakeServer, home: Path
) -> None:
    async with client_for(server, home) as client:
        s = await client.create_session(session_id="meta")
        await s.send_and_wait("What is the capital of France?\nmore lines")
        listed = await client.list_sessions()
        here = await client.list_sessions(SessionListFilter(working_directory=os.getcwd()))
        there = await client.list_sessions(SessionListFilter(working_directory="/nonexistent"))
        by_repo = await client.list_sessions(SessionListFilter(repository="o/r"))
    info = listed[0]
    assert (info.sessionId, info.isRemote) == ("meta", False)
    assert info.startTime == info.start_time.isoformat()
    assert info.modifiedTime == info.modified_time.isoformat()
    assert info.summary == "What is the capital of France?"
    assert info.context is not None and info.context.cwd == os.path.realpath(os.getcwd())
    assert [i.session_id for i in here] == ["meta"]
    assert there == [] and by_repo == []


async def test_on_lifecycle_and_log(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        every: list[str] = []
        created: list[str] = []
        client.on_lifecycle(lambda e: every.append(e.type))
        stop = client.on_lifecycle("session.created", lambda e: created.append(e.session_id))
        seen: list[SessionEvent] = []
        s = await client.create_session(session_id="lc", on_event=seen.append)
        stop()
        await client.create_session(session_id="lc2")
        await s.send_and_wait("first")
        await s.send_and_wait("second")
        await s.log("a note")
        await s.log("careful", level="warning")
        await s.log("passing", ephemeral=True)
        history = await s.get_events()
        await client.delete_session("lc")
    assert created == ["lc"]
    assert every == ["session.created", "session.created", "session.updated", "session.deleted"]
    notes = [(str(e.type), e.data.message, e.ephemeral) for e in seen if "message" in vars(e.data)]
    assert ("session.info", "a note", None) in notes
    assert ("session.warning", "careful", None) in notes
    assert ("session.info", "passing", True) in notes
    saved = [e.data.message for e in history if e.type in ("session.info", "session.warning")]
    assert saved == ["a note", "careful"]  # the ephemeral one is not in the log


async def test_a_404_is_a_query_error_as_the_sdk_says(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        errors: list[SessionEvent] = []
        s = await client.create_session()
        s.on(lambda e: errors.append(e) if e.type == "session.error" else None)
        with pytest.raises(TurnFailed):
            await s.send_and_wait("fail #status=404")
    assert [e.data.error_type for e in errors] == ["query"]


async def test_reasoning_effort_is_sent_with_each_request(server: FakeServer, home: Path) -> None:
    async with client_for(server, home) as client:
        s = await client.create_session(reasoning_effort="low")
        await s.send_and_wait("one")
        await s.set_model("openai:gpt-4o-mini", reasoning_effort="high")
        await s.send_and_wait("two")
        plain = await client.create_session()
        await plain.send_and_wait("three")
    efforts = [r["body"].get("reasoning_effort") for r in server.requests if r["body"]]
    assert efforts == ["low", "high", None]


async def test_copilot_api_url_in_the_env_is_where_the_models_come_from(
    server: FakeServer, tmp_path: Path
) -> None:
    """As the SDK's CLI (the SDK's own e2e tests reach their replaying proxy
    so): ``COPILOT_API_URL`` in the client's ``env`` is the Copilot API, the
    ``github_token`` its bearer key, its first listed model the default, the
    Copilot identity the default system prompt (``append`` adds to it), and
    ``COPILOT_HOME`` where the sessions are kept."""
    env = {"COPILOT_API_URL": server.url, "COPILOT_HOME": str(tmp_path / "cphome")}
    models, server.models = server.models, ["claude-sonnet-4.5", "gpt-5"]
    client = CopilotClient(env=env, github_token="tok-1", working_directory=str(tmp_path))
    try:
        async with client:
            s = await client.create_session(
                system_message={"mode": "append", "content": "Be brief."}
            )
            await s.send_and_wait("hello")
            plain = await client.create_session(model="gpt-5")
            await plain.send_and_wait("hi")
    finally:
        server.models = models
    first, second = server.requests[-2], server.requests[-1]
    assert first["headers"]["authorization"] == "Bearer tok-1"
    assert first["body"]["model"] == "claude-sonnet-4.5"
    system = first["body"]["messages"][0]
    assert system["role"] == "system" and "GitHub" in system["content"]
    assert system["content"].endswith("Be brief.")
    assert second["body"]["model"] == "gpt-5"
    assert second["body"]["messages"][0]["content"] == system["content"].removesuffix(
        "\n\nBe brief."
    )
    assert (tmp_path / "cphome" / "copilot-repl").is_dir()


async def test_without_copilot_api_url_the_token_changes_nothing(
    server: FakeServer, home: Path
) -> None:
    async with client_for(server, home, github_token="tok-2") as client:
        s = await client.create_session()
        await s.send_and_wait("hello")
    request = server.requests[-1]
    assert request["headers"].get("authorization") != "Bearer tok-2"
    assert request["body"]["messages"][0]["role"] == "user"


def test_the_sdk_names_programs_import_exist() -> None:
    """The SDK's e2e tests import these at module level; a missing one fails
    the whole module before any test runs."""
    from copilot_repl import (  # noqa: F401
        CopilotRequestHandler,
        ModelCapabilitiesOverride,
        ModelSupportsOverride,
        ToolSet,
    )
    from copilot_repl.client import (  # noqa: F401
        ModelCapabilities,
        ModelInfo,
        ModelLimits,
        ModelSupports,
        StopError,
    )
    from copilot_repl.copilot_request_handler import CopilotRequestContext  # noqa: F401
    from copilot_repl.rpc import (  # noqa: F401
        PermissionDecisionApproveOnce,
        PermissionDecisionReject,
        PermissionDecisionUserNotAvailable,
    )
    from copilot_repl.session import PermissionNoResult, PermissionRequestResult  # noqa: F401


async def test_list_models_asks_on_list_models_when_given(home: Path) -> None:
    from copilot_repl.client import ModelCapabilities, ModelInfo, ModelLimits

    custom = [ModelInfo("mine", "Mine", ModelCapabilities(limits=ModelLimits(1000)))]
    calls = []
    client = CopilotClient(data_dir=str(home), on_list_models=lambda: calls.append(1) or custom)
    assert await client.list_models() == custom  # before start(), as the SDK
    assert calls == [1]


async def test_sdk_options_copilot_repl_cannot_honour_are_one_line(home: Path) -> None:
    from copilot_repl import CopilotRequestHandler, ModelCapabilitiesOverride
    from copilot_repl.session import ModelSupportsOverride

    with pytest.raises(UsageError, match="request_handler"):
        CopilotClient(data_dir=str(home), request_handler=CopilotRequestHandler())
    async with CopilotClient(data_dir=str(home)) as client:
        caps = ModelCapabilitiesOverride(supports=ModelSupportsOverride(vision=False))
        with pytest.raises(UsageError, match="model_capabilities"):
            await client.create_session(model_capabilities=caps)
        # a handler for MCP OAuth is accepted (never asked: no OAuth here)
        s = await client.create_session(on_mcp_auth_request=lambda r, i: {"kind": "cancelled"})
        await s.disconnect()


def test_tool_set_entries_select_tools_by_source() -> None:
    from copilot_repl.api.toolrun import ToolBox
    from copilot_repl.tools import Tool, ToolSet

    mine = Tool("mine", "mine", handler=lambda inv: "x")
    other = Tool("other", "other", handler=lambda inv: "y")
    served = Tool("served", "an MCP tool", handler=lambda inv: "z", metadata={"mcp_server": "s"})
    tools = [mine, other, served]
    names = lambda box: [t.name for t in box.offered()]  # noqa: E731
    everything_custom = ToolSet().add_custom("*").add_builtin("web_fetch")
    assert names(ToolBox(tools, available=list(everything_custom))) == ["mine", "other"]
    assert names(ToolBox(tools, available=list(ToolSet().add_mcp("*")))) == ["served"]
    assert names(ToolBox(tools, excluded=list(ToolSet().add_custom("mine")))) == [
        "other",
        "served",
    ]
    with pytest.raises(ValueError, match="tool names must match"):
        ToolSet().add_custom("no spaces")


async def test_send_request_headers_go_with_that_turns_requests_only(
    server: FakeServer, home: Path
) -> None:
    """As the SDK's ``send(..., request_headers=...)``: the headers reach the
    model server with that message's request, and not with the next one."""
    async with client_for(server, home) as client:
        s = await client.create_session()
        await s.send_and_wait("one", request_headers={"X-Sdk-Test": "first"})
        await s.send_and_wait("two")
        with pytest.raises(TypeError, match="request_headers"):
            await s.send("three", request_headers={"X-Bad": 1})
    first, second = server.requests[-2], server.requests[-1]
    assert first["headers"].get("x-sdk-test") == "first"
    assert "x-sdk-test" not in second["headers"]


async def test_an_unsupported_option_turned_off_is_accepted(home: Path) -> None:
    """``infinite_sessions={"enabled": False}`` asks for nothing copilot-repl
    lacks (the SDK's e2e test of it expects no compaction events); enabled,
    it is refused in one line."""
    async with CopilotClient(data_dir=str(home)) as client:
        s = await client.create_session(infinite_sessions={"enabled": False})
        await s.disconnect()
        with pytest.raises(UsageError, match="infinite_sessions"):
            await client.create_session(infinite_sessions={"enabled": True})


async def test_client_api_of_a_headless_runtime(home: Path) -> None:
    """As the SDK's e2e test_client_api: deleting an unknown id says "failed
    to delete session ID"; no foreground session, and setting one is refused."""
    async with CopilotClient(data_dir=str(home)) as client:
        with pytest.raises(Exception, match="failed to delete session nope"):
            await client.delete_session("nope")
        assert await client.get_foreground_session_id() is None
        s = await client.create_session()
        with pytest.raises(UsageError, match="TUI"):
            await client.set_foreground_session_id(s.session_id)


def _sse(obj: dict[str, object]) -> str:
    import json

    return "data: " + json.dumps(obj) + "\n\n"


def test_copilot_api_choices_after_the_first_continue_the_reply() -> None:
    """The Copilot API sends a reply's text as choice 0 and its tool calls as
    choice 1 (the SDK's replaying proxy reproduces it); merged, they are one
    reply. Elsewhere a second choice is another of n replies, ignored."""
    from copilot_repl.providers.wire import parse_chunk

    call = {
        "index": 0,
        "id": "c1",
        "type": "function",
        "function": {"name": "f", "arguments": "{}"},
    }
    data = _sse(
        {
            "choices": [
                {"index": 0, "delta": {"content": "Looking."}},
                {"index": 1, "delta": {"tool_calls": [call]}},
            ]
        }
    )[len("data: ") :].strip()
    merged = parse_chunk(data, "p", merge_choices=True)
    assert merged.text == "Looking." and merged.tool_calls == [(1024, "c1", "f", "{}")]
    plain = parse_chunk(data, "p")
    assert plain.text == "Looking." and not plain.tool_calls


async def test_a_copilot_api_reply_with_its_tool_calls_in_choice_1_runs_them(
    server: FakeServer, tmp_path: Path
) -> None:
    from copilot_repl.tools import define_tool

    @define_tool("lookup", description="Look it up", skip_permission=True)
    def lookup(invocation: ToolInvocation) -> str:
        return "RESULT: 42"

    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "lookup", "arguments": "{}"},
    }
    two_choices = {
        "id": "x",
        "object": "chat.completion.chunk",
        "choices": [
            {"index": 0, "delta": {"content": "I'll look it up."}, "finish_reason": "stop"},
            {"index": 1, "delta": {"tool_calls": [call]}, "finish_reason": "tool_calls"},
        ],
    }
    server.queue(Reply(text="", fault="inject", inject=[_sse(two_choices)]))
    env = {"COPILOT_API_URL": server.url, "COPILOT_HOME": str(tmp_path / "cphome")}
    async with CopilotClient(env=env, github_token="t") as client:
        s = await client.create_session(tools=[lookup])
        reply = await s.send_and_wait("look it up")
    assert reply is not None and reply.data.content == "tools: RESULT: 42"
    sent = server.requests[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["system", "user", "assistant", "tool"]
    assert sent[2]["content"] == "I'll look it up." and sent[2]["tool_calls"][0]["id"] == "call_1"


async def test_client_name_is_named_in_the_user_agent(server: FakeServer, home: Path) -> None:
    """As the CLI: a session's ``client_name`` is in the User-Agent of its requests."""
    async with client_for(server, home) as client:
        named = await client.create_session(client_name="my-app")
        await named.send_and_wait("hi")
        plain = await client.create_session()
        await plain.send_and_wait("hi")
    assert "my-app" in server.requests[-2]["headers"]["user-agent"]
    assert "my-app" not in server.requests[-1]["headers"]["user-agent"]


async def test_get_status_and_auth_status(server: FakeServer, tmp_path: Path) -> None:
    """As the SDK's client calls: a version and protocol version; signed in
    only when the models come from the Copilot API with a token."""
    async with CopilotClient(data_dir=str(tmp_path / "h")) as client:
        status = await client.get_status()
        assert status.version and status.protocol_version >= 1
        auth = await client.get_auth_status()
        assert auth.isAuthenticated is False and auth.statusMessage
    env = {"COPILOT_API_URL": server.url, "COPILOT_HOME": str(tmp_path / "cp")}
    async with CopilotClient(env=env, github_token="t") as client:
        auth = await client.get_auth_status()
        assert auth.isAuthenticated is True and auth.authType == "token"
