"""A real MCP server over stdio, written with the official ``mcp`` SDK, for
the tests of ``[mcp.NAME]`` servers: ``python tests/mcp_server.py`` (stdio),
or ``python tests/mcp_server.py --http PORT`` (streamable HTTP on
``http://127.0.0.1:PORT/mcp``).

Tools: ``add`` (two integers), ``env_names`` (the environment variables it
was given, sorted), ``shout`` (its text in capitals), ``fail`` (raises),
``hang`` (never answers) and ``die`` (the process exits mid-call).
"""

from __future__ import annotations

import os
import time

from mcp.server.mcpserver import MCPServer

server = MCPServer("test-tools")


@server.tool(description="Add two integers")
def add(a: int, b: int) -> int:
    return a + b


@server.tool(description="The names of the environment variables this server sees")
def env_names() -> str:
    return " ".join(sorted(os.environ))


@server.tool(description="The text in capitals")
def shout(text: str) -> str:
    return text.upper()


@server.tool(description="Always fails")
def fail() -> str:
    raise ValueError("it failed on purpose")


@server.tool(description="Never answers")
def hang() -> str:
    time.sleep(3600)
    return "late"


@server.tool(description="Exits in the middle of the call")
def die() -> str:
    os._exit(3)


if __name__ == "__main__":
    import sys

    if sys.argv[1:2] == ["--http"]:
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
