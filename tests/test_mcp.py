"""MCP servers as tool sources: a real stdio server written with the ``mcp``
SDK (tests/mcp_server.py), started by a session that uses it."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest
from fakeserver import FakeServer
from helpers import wait_for

from copilot_repl import CopilotClient
from copilot_repl.config import load_config
from copilot_repl.errors import ConfigError, UsageError
from copilot_repl.session import PermissionHandler

pytest.importorskip("mcp")
SERVER = Path(__file__).with_name("mcp_server.py")


def config_text() -> str:
    """Server t, and h: the same program, whose calls may take only 1 s."""
    return "".join(
        f"[mcp.{name}]\ncommand = {sys.executable!r}\nargs = [{str(SERVER)!r}]\n"
        f'env = {{ GIVEN = "1" }}\npass_env = ["KEEP"]\ntimeout = {timeout}\n'
        for name, timeout in (("t", 60), ("h", 1))
    )


def client_for(server: FakeServer, home: Path, tmp_path: Path) -> CopilotClient:
    path = tmp_path / "config.toml"
    path.write_text(config_text())
    env = {"KEEP": "k", "SECRET_API_KEY": "sk-123", "PATH": "/usr/bin:/bin"}
    config = load_config(env=env, data_dir=home, config_path=path, base_url=server.url)
    return CopilotClient(config=config, env=env)


async def ask(client: CopilotClient, prompt: str, name: str = "t") -> str:
    tools = await client.mcp_tools([name])
    session = await client.create_session(
        tools=tools, on_permission_request=PermissionHandler.approve_all
    )
    reply = await session.send_and_wait(prompt)
    assert reply is not None
    return str(reply.data.content)


async def test_a_sessions_model_calls_the_servers_tools(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    async with client_for(server, home, tmp_path) as client:
        names = [t.name for t in await client.mcp_tools(["t"])]
        assert names == ["t-add", "t-env_names", "t-shout", "t-fail", "t-hang", "t-die"]
        reply = await ask(client, 'go #call=t-add:{"a":2,"b":40} #call=t-shout:{"text":"hi"}')
        assert reply == "tools: 42 | HI"
        env = (await ask(client, "which? #call=t-env_names:{}")).split()
        assert "GIVEN" in env and "KEEP" in env and "SECRET_API_KEY" not in env
        offered = server.requests[-1]["body"]["tools"]
        add = next(t["function"] for t in offered if t["function"]["name"] == "t-add")
        assert add["parameters"]["required"] == ["a", "b"]


async def test_a_failing_hanging_or_dying_server_is_one_line_and_the_session_goes_on(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    async with client_for(server, home, tmp_path) as client:
        assert await ask(client, "x #call=t-fail:{}") == "tools: Error executing tool fail"
        assert await ask(client, "x #call=h-hang:{}", "h") == (
            "tools: MCP server h: hang did not answer within 1 s"
        )
        died = await ask(client, "x #call=t-die:{}")
        assert died.startswith("tools: MCP server t") and "\n" not in died
        after = await ask(client, 'x #call=t-add:{"a":1,"b":1}')
        assert after.startswith("tools: MCP server t") and "\n" not in after


async def test_unknown_servers_and_bad_tables_are_one_line(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    async with client_for(server, home, tmp_path) as client:
        with pytest.raises(UsageError, match="unknown MCP server 'nope'.*: h, t"):
            await client.mcp_tools(["nope"])
    bad = tmp_path / "bad.toml"
    bad.write_text('[mcp.x]\ncommand = "a"\nurl = "http://h/mcp"\n')
    with pytest.raises(ConfigError, match=r"\[mcp.x\] needs command"):
        load_config(env={}, data_dir=home, config_path=bad)


async def test_a_streamable_http_server(server: FakeServer, home: Path, tmp_path: Path) -> None:
    import socket
    import subprocess

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await asyncio.to_thread(wait_for, lambda: _listening(port), 60.0)
        path = tmp_path / "config.toml"
        path.write_text(f'[mcp.w]\nurl = "http://127.0.0.1:{port}/mcp"\n')
        config = load_config(env={}, data_dir=home, config_path=path, base_url=server.url)
        async with CopilotClient(config=config, env={}) as client:
            assert await ask(client, 'x #call=w-add:{"a":20,"b":22}', "w") == "tools: 42"
    finally:
        child.terminate()
        child.wait(timeout=30)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0
