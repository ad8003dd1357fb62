"""MCP servers as tool sources (``[mcp.NAME]`` in config.toml), through the
official ``mcp`` SDK (the ``[mcp]`` extra, imported only when a server is
started).

A server starts when a session first uses it, and stops with the client
(``CopilotClient.stop``). A stdio child gets only the environment its config
names (``env``, ``pass_env``; the SDK adds PATH, HOME, USER, SHELL, TERM,
LOGNAME), so no key of ours reaches it unless named; its stderr goes to
``DATA_DIR/logs/mcp-NAME.log``. Each of its tools becomes a ``Tool`` named
``NAME-TOOL``. A call that takes longer than ``timeout`` or a server that
dies is a failed tool call, told to the model in one line: the session goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from copilot_repl.api.tools import Tool, ToolInvocation, ToolResult
from copilot_repl.config import McpServerConfig
from copilot_repl.errors import UsageError
from copilot_repl.sanitize import one_line

START_TIMEOUT = 30.0  # seconds for a server to start and list its tools


class McpError(UsageError):
    """An MCP server could not be started or listed (one line)."""


class McpServer:
    """One configured MCP server, started on first use."""

    def __init__(self, config: McpServerConfig, env: Mapping[str, str], log_dir: Path) -> None:
        self.config = config
        self._env = env
        self._log_dir = log_dir
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._client: Any = None
        self._tools: list[Tool] = []
        self._failure = ""

    @property
    def name(self) -> str:
        return self.config.name

    def child_env(self) -> dict[str, str]:
        """What the stdio child is given beyond the SDK's few basics."""
        out = {k: self._env[k] for k in self.config.pass_env if k in self._env}
        out.update(self.config.env)
        return out

    async def tools(self) -> list[Tool]:
        """Its tools (started now if need be); ``McpError`` if it cannot start."""
        if self._task is None:
            self._task = asyncio.create_task(self._serve(), name=f"mcp:{self.name}")
        try:
            await asyncio.wait_for(asyncio.shield(self._ready.wait()), START_TIMEOUT)
        except TimeoutError:
            self._failure = f"did not start within {START_TIMEOUT:g} s"
        if self._failure:
            raise McpError(f"MCP server {self.name}: {self._failure}")
        return list(self._tools)

    async def _serve(self) -> None:
        try:
            # the [mcp] extra, only when an MCP server is used
            from mcp import Client
            from mcp.client.stdio import StdioServerParameters, stdio_client
        except ImportError:
            self._failure = "the mcp package is missing: pip install 'copilot-repl[mcp]'"
            self._ready.set()
            return
        cfg = self.config
        try:
            with contextlib.ExitStack() as files:
                if cfg.url:
                    target: Any = cfg.url
                else:
                    self._log_dir.mkdir(parents=True, exist_ok=True)
                    log = files.enter_context(
                        open(self._log_dir / f"mcp-{cfg.name}.log", "a", encoding="utf-8")  # noqa: SIM115
                    )
                    params = StdioServerParameters(
                        command=cfg.command, args=list(cfg.args), env=self.child_env()
                    )
                    target = stdio_client(params, errlog=log)
                async with Client(target) as client:
                    listed = await client.list_tools()
                    self._client = client
                    self._tools = [self._tool(t) for t in listed.tools]
                    self._ready.set()
                    await self._stop.wait()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - anyio groups, OSError, protocol errors
            self._failure = self._failure or _reason(exc)
        finally:
            self._client = None
            self._failure = self._failure or "stopped"
            self._ready.set()

    def _tool(self, listed: Any) -> Tool:
        name = re.sub(r"[^A-Za-z0-9_-]", "_", f"{self.name}-{listed.name}")[:64]
        remote = listed.name

        async def handler(invocation: ToolInvocation) -> ToolResult:
            return await self.call(remote, invocation.arguments or {})

        return Tool(
            name=name,
            description=listed.description or "",
            handler=handler,
            parameters=dict(listed.input_schema or {}),
            metadata={"mcp_server": self.name, "mcp_tool": remote},
        )

    async def call(self, tool: str, arguments: dict[str, Any]) -> ToolResult:
        client = self._client
        if client is None:
            return _failed(f"MCP server {self.name} is not running ({self._failure or 'stopped'})")
        try:
            result = await asyncio.wait_for(client.call_tool(tool, arguments), self.config.timeout)
        except TimeoutError:
            return ToolResult(
                f"MCP server {self.name}: {tool} did not answer within {self.config.timeout:g} s",
                "timeout",
                "timeout",
            )
        except Exception as exc:  # the server died, the connection broke
            return _failed(f"MCP server {self.name} failed during {tool}: {_reason(exc)}")
        # the mcp package's content blocks: only its text blocks have .text
        texts = [c.text for c in result.content if getattr(c, "type", "") == "text"]
        text = "\n".join(texts)
        if result.is_error:
            return ToolResult(text or "the tool failed", "failure", text or "the tool failed")
        return ToolResult(text)

    async def aclose(self) -> None:
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 10.0)


def _failed(message: str) -> ToolResult:
    return ToolResult(message, "failure", message)


def _reason(exc: BaseException) -> str:
    """One line for an exception (the first leaf of an exception group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = one_line(str(exc), 200)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
