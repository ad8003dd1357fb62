"""Tools a session offers its model, as in the Copilot SDK (``copilot.tools``):
``Tool``, ``ToolInvocation``, ``ToolResult`` and ``define_tool`` (a decorator
or a function; a Pydantic model describes the parameters, and its JSON schema
is what the model is offered).

pydantic is imported only when a tool is defined with ``define_tool``: a
program without tools, and the shell, start without it.

A handler's exception becomes the SDK's failure result (the model is told the
tool failed, never the exception's text); arguments that do not validate
become a failure result naming the fields, as with the SDK.

A plain (sync) handler runs in a thread of its own (``in_thread``), unlike
the SDK, which calls it on the event loop: a handler that blocks cannot stall
the other sessions, and the tool timeout (``tool_timeout``) can give up on it.
Python cannot kill a thread: one that never returns runs on, unseen, until
the process exits (it never keeps the process from exiting).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import json
import re
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, get_type_hints
from uuid import UUID

__all__ = [
    "Tool",
    "ToolBinaryResult",
    "ToolHandler",
    "ToolInvocation",
    "ToolResult",
    "ToolResultType",
    "ToolSet",
    "define_tool",
]

_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]+$")
ToolResultType = Literal["success", "failure", "rejected", "denied", "timeout"]


class ToolSet:
    """As the SDK's: a builder of source-qualified tool filters for
    ``available_tools`` / ``excluded_tools`` (``builtin:NAME``, ``custom:NAME``,
    ``mcp:NAME``, ``*`` for all of a source). copilot-repl has no built-in
    tools, so ``builtin:`` entries match none."""

    def __init__(self) -> None:
        self._items: list[str] = []

    def _add(self, source: str, names: str | Iterable[str]) -> ToolSet:
        for name in [names] if isinstance(names, str) else list(names):
            if not name or (name != "*" and not _TOOL_NAME.match(name)):
                raise ValueError(
                    f"invalid {source} tool name {name!r}: tool names must match "
                    "/^[a-zA-Z0-9_-]+$/ or be the wildcard '*'"
                )
            self._items.append(f"{source}:{name}")
        return self

    def add_builtin(self, name: str | Iterable[str]) -> ToolSet:
        return self._add("builtin", name)

    def add_custom(self, name: str) -> ToolSet:
        return self._add("custom", name)

    def add_mcp(self, tool_name: str) -> ToolSet:
        return self._add("mcp", tool_name)

    def to_list(self) -> list[str]:
        return list(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(self.to_list())

    def __len__(self) -> int:
        return len(self._items)


@dataclass
class ToolBinaryResult:
    """Binary content returned by a tool."""

    data: str = ""
    mime_type: str = ""
    type: Literal["image", "resource"] = "image"
    description: str = ""


@dataclass
class ToolResult:
    """Result of a tool invocation."""

    text_result_for_llm: str = ""
    result_type: ToolResultType = "success"
    error: str | None = None
    binary_results_for_llm: list[ToolBinaryResult] | None = None
    session_log: str | None = None
    tool_telemetry: dict[str, Any] | None = None
    tool_references: list[str] | None = None
    _from_exception: bool = field(default=False, repr=False)


@dataclass
class ToolInvocation:
    """Context passed to a tool handler when invoked."""

    session_id: str = ""
    tool_call_id: str = ""
    tool_name: str = ""
    arguments: Any = None
    available_tools: list[Any] | None = None
    agent_id: str | None = None
    request_id: str | None = None


ToolHandler = Callable[[ToolInvocation], ToolResult | Awaitable[ToolResult]]


@dataclass
class Tool:
    name: str
    description: str
    handler: ToolHandler | None = None
    parameters: dict[str, Any] | None = None
    overrides_built_in_tool: bool = False
    skip_permission: bool = False
    defer: Literal["auto", "never"] | None = None
    metadata: dict[str, Any] | None = None
    is_terminal: bool = False
    namespace: Any = None


def define_tool(
    name: str | None = None,
    *,
    description: str | None = None,
    handler: Callable[..., Any] | None = None,
    params_type: type[Any] | None = None,
    overrides_built_in_tool: bool = False,
    skip_permission: bool = False,
    defer: Literal["auto", "never"] | None = None,
    metadata: dict[str, Any] | None = None,
    is_terminal: bool = False,
    namespace: Any = None,
) -> Any:
    """Define a tool: ``@define_tool(description=...)`` on a function whose
    first parameter is a Pydantic model (and whose second, if any, is the
    ``ToolInvocation``); or ``define_tool("name", description=...,
    handler=fn, params_type=Model)``; or, without a handler, a declaration."""
    extra: dict[str, Any] = {
        "overrides_built_in_tool": overrides_built_in_tool,
        "skip_permission": skip_permission,
        "defer": defer,
        "metadata": metadata,
        "is_terminal": is_terminal,
        "namespace": namespace,
    }

    def decorator(fn: Callable[..., Any]) -> Tool:
        # the user's callable: a functools.partial or a callable object has no __name__
        tool_name = name if name is not None else getattr(fn, "__name__", "unknown")
        call = _Call.of(fn, params_type)
        return Tool(
            name=tool_name,
            description=description or "",
            parameters=call.schema(),
            handler=call.run,
            **extra,
        )

    if handler is not None:
        if name is None:
            raise ValueError("name is required when using define_tool with handler=")
        return decorator(handler)
    if name is not None and params_type is not None:
        schema = params_type.model_json_schema() if _is_model(params_type) else None
        return Tool(name=name, description=description or "", parameters=schema, **extra)
    return decorator


def _is_model(t: Any) -> bool:
    from pydantic import BaseModel  # here: only a program that defines tools pays for it

    return isinstance(t, type) and issubclass(t, BaseModel)


@dataclass
class _Call:
    """How to call a handler: with the validated parameters, the invocation, both."""

    fn: Callable[..., Any]
    ptype: Any
    takes_params: bool
    takes_invocation: bool

    @classmethod
    def of(cls, fn: Callable[..., Any], ptype: Any) -> _Call:
        names = list(inspect.signature(fn).parameters)
        hints = get_type_hints(fn)
        first = hints.get(names[0]) if names else None
        if not names:
            return cls(fn, ptype, False, False)
        if len(names) == 1 and first is ToolInvocation:
            return cls(fn, ptype, False, True)
        if ptype is None and _is_model(first):
            ptype = first
        return cls(fn, ptype, True, len(names) >= 2)

    def schema(self) -> dict[str, Any] | None:
        if self.ptype is not None and _is_model(self.ptype):
            schema: dict[str, Any] = self.ptype.model_json_schema()
            return schema
        return None

    async def run(self, invocation: ToolInvocation) -> ToolResult:
        # optional: only a tool whose parameters are a Pydantic model
        from pydantic import ValidationError

        try:
            args: list[Any] = []
            if self.takes_params:
                raw = invocation.arguments if invocation.arguments is not None else {}
                if self.ptype is not None and _is_model(self.ptype):
                    try:
                        args.append(self.ptype.model_validate(raw))
                    except ValidationError as exc:
                        return _invalid(exc)
                else:
                    args.append(raw)
            if self.takes_invocation:
                args.append(invocation)
            if inspect.iscoroutinefunction(self.fn):
                result = self.fn(*args)
            else:
                result = await in_thread(self.fn, *args)
            if inspect.isawaitable(result):
                result = await result
            return normalize_result(result)
        except Exception as exc:  # as the SDK: the model is told it failed, not why
            return ToolResult(
                text_result_for_llm=(
                    "Invoking this tool produced an error. Detailed information is not available."
                ),
                result_type="failure",
                error=str(exc),
                tool_telemetry={},
                _from_exception=True,
            )


async def in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a daemon thread of its own, awaited: cancelling the
    wait (a timeout, an abort) leaves the thread to finish, or not, unseen."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Any] = loop.create_future()
    context = contextvars.copy_context()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # given up on
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        result: Any = None
        error: BaseException | None = None
        try:
            result = context.run(fn, *args)
        except BaseException as exc:  # noqa: BLE001 - handed to the awaiting task
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
            loop.call_soon_threadsafe(settle, result, error)

    name = getattr(fn, "__name__", "handler")  # any callable
    threading.Thread(target=work, name=f"tool:{name}", daemon=True).start()
    return await future


def _invalid(exc: Any) -> ToolResult:
    parts = []
    for err in exc.errors():
        loc = ".".join(map(str, err["loc"]))
        parts.append(f"{loc}: {err['msg']}" if loc else err["msg"])
    return ToolResult(
        text_result_for_llm="Invalid tool arguments:\n" + "\n".join(parts),
        result_type="failure",
        error=str(exc),
        tool_telemetry={},
    )


def normalize_result(result: Any) -> ToolResult:
    """None: an empty success; a string as it is; a ToolResult passes; anything
    else as JSON (Pydantic models, dates, decimals, UUIDs, enums, sets)."""
    if result is None:
        return ToolResult()
    if isinstance(result, ToolResult):
        return result
    if isinstance(result, str):
        return ToolResult(text_result_for_llm=result)
    try:
        text = json.dumps(result, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"Failed to serialize tool result: {exc}") from exc
    return ToolResult(text_result_for_llm=text)


def _json_default(obj: Any) -> Any:
    model_dump = getattr(obj, "model_dump", None)  # a Pydantic model (not our type)
    if callable(model_dump):
        return model_dump(mode="json")
    if isinstance(obj, date | datetime | time):
        return obj.isoformat()
    if isinstance(obj, Decimal | UUID):
        return str(obj)
    if isinstance(obj, Enum):
        return obj.value
    if isinstance(obj, set):
        return list(obj)
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")
