"""A handler that raises: the model sees the SDK's failure result, the turn goes on."""
# sdk: 1.0

import asyncio

from pydantic import BaseModel, Field

from copilot import CopilotClient
from copilot.session import PermissionHandler
from copilot.tools import define_tool


class LookupParams(BaseModel):
    key: str


@define_tool(description="Look a key up")
def lookup(params: LookupParams) -> str:
    raise KeyError(params.key)


def show(event) -> None:
    """The fields of the tool events a program can rely on, one line each."""
    kind, d = event.type.value, event.data
    if kind == "assistant.message":
        calls = [(r.name, r.arguments) for r in d.tool_requests or []]
        print(kind, repr(d.content), calls)
    elif kind == "tool.execution_start":
        print(kind, d.tool_name, d.arguments)
    elif kind == "permission.requested":
        r = d.permission_request
        print(kind, r.kind, r.tool_name, r.args, r.tool_description)
    elif kind == "permission.completed":
        print(kind, d.result.kind)
    elif kind == "external_tool.requested":
        print(kind, d.tool_name, d.arguments)
    elif kind == "tool.execution_complete":
        result = d.result.content if d.result else None
        error = d.error.message.splitlines()[0] if d.error else None
        print(kind, d.success, repr(result), error)


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all,
            model="gpt-4.1",
            tools=[lookup],
            available_tools=["lookup"],
        )
        session.on(show)
        reply = await session.send_and_wait('Look it up. #call=lookup:{"key":"nope"}')
        print("reply:", reply.data.content if reply else None)
        await session.disconnect()


asyncio.run(main())
