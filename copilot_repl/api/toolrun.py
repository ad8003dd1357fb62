"""A round of tool calls: what a turn does when the model's reply asks for
tools (``tools=`` of ``create_session``), as the Copilot CLI does for the SDK.

For the calls of one reply, in order: ``tool.execution_start`` for each; then,
one call at a time, the permission question (``permission.requested`` /
``permission.completed``, kind "custom-tool"; not for ``skip_permission``
tools); then the approved handlers run together, each between
``external_tool.requested`` and ``external_tool.completed``, and each call
ends with ``tool.execution_complete``. As the CLI, a refusal without feedback
(the permission handler's reject) or a handler's "rejected" result ends the
turn after its round: the model is not asked again (``Round.ends``). What the
model is told for an unknown
tool, malformed arguments, a refusal or a handler's exception is the CLI's
wording. Tool output is untrusted text: capped at ``MAX_TOOL_OUTPUT``
characters before it reaches the model, and a handler that runs longer than
the session's tool timeout (``tool_timeout`` in config.toml, ``TOOL_TIMEOUT``
seconds by default) fails with a ``timeout`` result the model is told, and
the turn goes on. The timeout counts from when the handler starts (not while
the user answers the permission question) and is the same for sync and async
handlers and MCP calls; a sync handler runs in a thread of its own (see
``api/tools.in_thread``), which a timeout gives up on but cannot kill.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from copilot_repl.api.events import (
    ExternalToolCompletedData,
    ExternalToolRequestedData,
    PermissionCompletedData,
    PermissionRequestedData,
    SessionEventType,
    ToolExecutionCompleteData,
    ToolExecutionStartData,
)
from copilot_repl.api.generated_events_all import (
    AssistantMessageToolRequest,
    PermissionApproved,
    PermissionDeniedInteractivelyByUser,
    PermissionDeniedNoApprovalRuleAndCouldNotRequestFromUser,
    PermissionRequestCustomTool,
    PermissionResult,
    ToolExecutionCompleteError,
    ToolExecutionCompleteResult,
)
from copilot_repl.api.options import PermissionFn, decide
from copilot_repl.api.tools import Tool, ToolInvocation, ToolResult, in_thread
from copilot_repl.providers.base import ToolCall

MAX_TOOL_OUTPUT = 64 * 1024  # characters of one tool's output the model is given
TOOL_TIMEOUT = 120.0  # seconds a handler may run (``tool_timeout`` in config.toml)
T = SessionEventType
Event = Callable[..., None]


@dataclass
class ToolBox:
    """The tools a session offers, and who answers its permission questions."""

    tools: list[Tool] = field(default_factory=list)
    permission: PermissionFn | None = None
    available: list[str] | None = None
    excluded: list[str] | None = None
    timeout: float = TOOL_TIMEOUT

    def offered(self) -> list[Tool]:
        """The tools the model is offered (``available_tools`` and
        ``excluded_tools`` applied)."""
        out = [t for t in self.tools if self.available is None or _listed(t, self.available)]
        return [t for t in out if not self.excluded or not _listed(t, self.excluded)]

    def definitions(self) -> list[dict[str, Any]]:
        """The offered tools as OpenAI function definitions."""
        out = []
        for tool in self.offered():
            function: dict[str, Any] = {"name": tool.name, "description": tool.description}
            function["parameters"] = tool.parameters or {"type": "object", "properties": {}}
            out.append({"type": "function", "function": function})
        return out


@dataclass
class _Call:
    """One call of a round, and what became of it."""

    call: ToolCall
    arguments: Any = None
    tool: Tool | None = None
    content: str = ""  # what the model is told
    error: str | None = None  # None: it succeeded
    code: str | None = None  # the handler's result_type when not "success" (the error's code)
    ends: str | None = None  # it ends the turn: "abort" (refused), "rejected" (its result)
    approved: bool = False
    malformed: bool = False
    started: float = field(default_factory=time.monotonic)  # then: when its handler started
    ended: float | None = None  # when its handler ended

    @property
    def wire_arguments(self) -> str:
        """The arguments as sent back to the model ("{}" when malformed, as the CLI)."""
        return "{}" if self.malformed else self.call.arguments.strip() or "{}"


def _listed(tool: Tool, entries: list[str]) -> bool:
    """Whether a tool filter names ``tool``: by its name, or as the SDK's
    ``ToolSet`` writes it (``custom:NAME``, ``mcp:NAME``, ``*`` for all of a
    source; ``builtin:`` names none: copilot-repl has no built-in tools)."""
    source = "mcp" if tool.metadata and tool.metadata.get("mcp_server") else "custom"
    return any(e in (tool.name, f"{source}:*", f"{source}:{tool.name}") for e in entries)


def parse_arguments(call: ToolCall) -> tuple[Any, str | None]:
    """The call's arguments as an object, or {} and the JSON error."""
    text = call.arguments.strip() or "{}"
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return {}, str(exc)
    if not isinstance(value, dict):
        return {}, "the arguments are not a JSON object"
    return value, None


def tool_requests(calls: list[ToolCall]) -> list[AssistantMessageToolRequest]:
    return [AssistantMessageToolRequest(c.name, c.id, parse_arguments(c)[0]) for c in calls]


@dataclass
class Round:
    """A round run: the messages that carry it to the model (the assistant's
    ``tool_calls``, then a ``tool`` message each), the round as the history
    keeps it (``Message.tools``), and whether it ends the turn: "abort" when a
    call was refused without feedback (the CLI then aborts the turn),
    "rejected" when a handler's result was "rejected", else None."""

    messages: list[dict[str, Any]]
    saved: dict[str, Any]
    ends: str | None = None


async def run_round(
    box: ToolBox,
    calls: list[ToolCall],
    event: Event,
    *,
    text: str = "",
    session_id: str,
    model: str,
    turn_id: str,
) -> Round:
    """Run the calls of one reply."""
    offered = {t.name: t for t in box.offered()}
    round_ = [_prepare(c, offered) for c in calls]
    for c in round_:
        start = ToolExecutionStartData(
            c.call.id, c.call.name, c.arguments, model=model, turn_id=turn_id
        )
        if c.tool is not None and c.tool.metadata:
            start.mcp_server_name = c.tool.metadata.get("mcp_server")
        event(T.TOOL_EXECUTION_START, start)
    for c in round_:
        if c.tool is not None:
            await _ask(box, c, event, session_id)
    await asyncio.gather(*(_run(box, c, event, session_id) for c in round_ if c.approved))
    for c in round_:  # each call ends, in the order the model made them
        _complete(c, event, model, turn_id)
    messages = _messages(round_, text)
    saved = {
        "text": text,
        "calls": messages[0]["tool_calls"],
        "results": [
            {"tool_call_id": c.call.id, "content": c.content, "ok": c.error is None} for c in round_
        ],
    }
    ends = {c.ends for c in round_}
    return Round(messages, saved, "abort" if "abort" in ends else "rejected" if any(ends) else None)


def _prepare(call: ToolCall, offered: dict[str, Tool]) -> _Call:
    c = _Call(call)
    c.arguments, bad_json = parse_arguments(call)
    tool = offered.get(call.name)
    if tool is None:
        names = ", ".join(offered)
        c.error = f"Tool '{call.name}' does not exist."
        c.content = f"{c.error} Available tools that can be called are {names}."
    elif bad_json is not None:
        c.error, c.malformed = bad_json, True
        c.content = (
            f"The arguments for the tool call '{call.name}' were not valid JSON. The arguments "
            f"have been cleared. Arguments: {call.arguments}. JSON parse error: {bad_json}"
        )
    else:
        c.tool = tool
    return c


async def _ask(box: ToolBox, c: _Call, event: Event, session_id: str) -> None:
    tool = c.tool
    assert tool is not None
    if tool.skip_permission:
        c.approved = True
        return
    request = PermissionRequestCustomTool(tool.description, tool.name, c.arguments, c.call.id)
    request_id = f"perm-{c.call.id}"
    event(T.PERMISSION_REQUESTED, PermissionRequestedData(request, request_id))
    raised = False
    try:
        verdict, feedback = await decide(box.permission, request, session_id)
    except Exception:  # a failing handler refuses, as the SDK's
        verdict, feedback, raised = "denied", "", True
    result: PermissionResult
    if verdict == "approved":
        c.approved, result = True, PermissionApproved()
    elif verdict == "no-handler":
        result = PermissionDeniedNoApprovalRuleAndCouldNotRequestFromUser()
        c.error = c.content = (
            f"Permission to run '{tool.name}' was denied: no permission handler "
            "(on_permission_request) could be asked."
        )
    else:
        result = PermissionDeniedInteractivelyByUser(feedback=feedback or None)
        # as the CLI: refused with feedback, the model is told it and asked
        # again; without, the turn ends after this round (a handler that
        # raised: the SDK answers "user not available", the model asked again)
        if feedback:
            c.code = "denied"
        elif not raised:
            c.code, c.ends = "rejected", "abort"
        c.error = c.content = "The user rejected this tool call." + (
            f" User feedback: {feedback}" if feedback else ""
        )
    completed = PermissionCompletedData(request_id, result, tool_call_id=c.call.id)
    event(T.PERMISSION_COMPLETED, completed)


async def _run(box: ToolBox, c: _Call, event: Event, session_id: str) -> None:
    tool = c.tool
    assert tool is not None
    request_id = f"tool-{c.call.id}"
    c.started = time.monotonic()  # its time is its own: not the permission question's
    event(
        T.EXTERNAL_TOOL_REQUESTED,
        ExternalToolRequestedData(request_id, session_id, c.call.id, tool.name, c.arguments),
    )
    try:
        result = await asyncio.wait_for(_invoke(tool, c, session_id), box.timeout)
    except TimeoutError:
        result = ToolResult(
            text_result_for_llm=f"The tool '{tool.name}' did not finish within {box.timeout:g} s.",
            result_type="timeout",
            error="timeout",
        )
    except Exception as exc:  # a handler not made by define_tool
        result = ToolResult(result_type="failure", error=str(exc), _from_exception=True)
    c.ended = time.monotonic()
    event(T.EXTERNAL_TOOL_COMPLETED, ExternalToolCompletedData(request_id))
    _take_result(c, tool, result)


async def _invoke(tool: Tool, c: _Call, session_id: str) -> ToolResult:
    if tool.handler is None:
        return ToolResult(
            text_result_for_llm=f"Tool '{tool.name}' has no handler in this session.",
            result_type="failure",
            error="no handler",
        )
    invocation = ToolInvocation(session_id, c.call.id, tool.name, c.arguments)
    result: Any
    if inspect.iscoroutinefunction(tool.handler):  # define_tool's: a sync fn in a thread
        result = tool.handler(invocation)
    else:  # a blocking handler must not stall the loop, and can be timed out
        result = await in_thread(tool.handler, invocation)
    if inspect.isawaitable(result):
        result = await result
    if result is None:
        return ToolResult("Tool returned no result.", "failure", "tool returned no result")
    if isinstance(result, str):
        return ToolResult(result)
    if not isinstance(result, ToolResult):
        raise TypeError(f"a tool handler returned {type(result).__name__}, not a ToolResult")
    return result


def _take_result(c: _Call, tool: Tool, result: ToolResult) -> None:
    if result._from_exception:
        shown = json.dumps(c.arguments, separators=(",", ":"), ensure_ascii=False)
        c.error = "Tool execution failed"
        c.content = (
            f"Failed to execute `{tool.name}` tool with arguments: {shown} "
            f"due to error: Error: {c.error}"
        )
        return
    c.content = _capped(result.text_result_for_llm)
    if result.result_type != "success":
        c.error = result.error or c.content
        c.code = result.result_type  # as the CLI: "failure", "rejected", "denied", ...
        if result.result_type == "rejected":  # as the CLI: the turn ends after this round
            c.ends = "rejected"


def _capped(text: str) -> str:
    if len(text) <= MAX_TOOL_OUTPUT:
        return text
    cut = len(text) - MAX_TOOL_OUTPUT
    return text[:MAX_TOOL_OUTPUT] + f"\n[tool output cut: {cut:,} more characters]"


def _complete(c: _Call, event: Event, model: str, turn_id: str) -> None:
    # each call's own time, though the calls of a round end together
    duration = round((c.ended or time.monotonic()) - c.started, 3)
    if c.error is None:
        data = ToolExecutionCompleteData(
            True,
            c.call.id,
            model=model,
            result=ToolExecutionCompleteResult(c.content, detailed_content=c.content),
            turn_id=turn_id,
            duration=duration,
        )
    else:
        error = ToolExecutionCompleteError(c.error, code=c.code)
        data = ToolExecutionCompleteData(
            False, c.call.id, error=error, model=model, turn_id=turn_id, duration=duration
        )
    event(T.TOOL_EXECUTION_COMPLETE, data)


def _messages(round_: list[_Call], text: str) -> list[dict[str, Any]]:
    calls = [
        {
            "id": c.call.id,
            "type": "function",
            "function": {"name": c.call.name, "arguments": c.wire_arguments},
        }
        for c in round_
    ]
    out: list[dict[str, Any]] = [{"role": "assistant", "content": text, "tool_calls": calls}]
    out += [{"role": "tool", "tool_call_id": c.call.id, "content": c.content} for c in round_]
    return out
