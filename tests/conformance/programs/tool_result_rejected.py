"""A handler's ToolResult with result type "rejected" ends the turn after the
tool round (no abort event); the next prompt's request carries the call and
the handler's text. With feedback on a permission reject, the model is asked
again instead (tool_permission_denied)."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler
from copilot.tools import ToolInvocation, ToolResult, define_tool


@define_tool("ship_release", description="Ships a release")
def ship(invocation: ToolInvocation) -> ToolResult:
    print("handler ran")
    return ToolResult(text_result_for_llm="Release blocked by policy", result_type="rejected")


def show(event) -> None:
    kind, d = event.type.value, event.data
    if kind == "assistant.message":
        print(kind, [r.name for r in d.tool_requests or []], d.content)
    elif kind == "tool.execution_complete":
        error = (d.error.code, d.error.message.splitlines()[0]) if d.error else None
        print(kind, d.success, error)
    elif kind == "abort":
        print(kind, d.reason)
    elif kind == "session.info" and d.info_type != "configuration":  # the CLI's own tools
        print(kind, d.info_type, d.message)


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all,
            model="gpt-4.1",
            tools=[ship],
            available_tools=["ship_release"],
        )
        session.on(show)
        reply = await session.send_and_wait("Ship it. #call=ship_release:{}")
        print("reply:", reply.data.content if reply else None)
        reply = await session.send_and_wait("Why not?")
        print("next:", reply.data.content if reply else None)
        await session.disconnect()


asyncio.run(main())
