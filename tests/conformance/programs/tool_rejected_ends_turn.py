"""A permission handler's reject without feedback ends the turn after the
tool round: the model is not asked again, the turn ends with an abort, and
the next prompt's request carries the call and its rejection. With feedback,
the model is told and asked again."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.generated.rpc import PermissionDecisionReject
from copilot.tools import ToolInvocation, define_tool

ran = []


@define_tool("lock_door", description="Locks a door")
def lock(invocation: ToolInvocation) -> str:
    ran.append(invocation.arguments)
    return "locked"


def refuse(request, invocation):
    print("asked:", request.kind, request.tool_name)
    return PermissionDecisionReject()


def refuse_saying(request, invocation):
    return PermissionDecisionReject(feedback="use the back door")


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
            on_permission_request=refuse,
            model="gpt-4.1",
            tools=[lock],
            available_tools=["lock_door"],
        )
        session.on(show)
        reply = await session.send_and_wait('Lock it. #call=lock_door:{"door":"front"}')
        print("reply:", reply.data.content if reply else None)
        reply = await session.send_and_wait("What happened?")
        print("next:", reply.data.content if reply else None)
        await session.disconnect()
        told = await client.create_session(
            on_permission_request=refuse_saying,
            model="gpt-4.1",
            tools=[lock],
            available_tools=["lock_door"],
        )
        told.on(show)
        reply = await told.send_and_wait('Lock. #call=lock_door:{"door":"side"}')
        print("reply:", reply.data.content if reply else None)
        await told.disconnect()
    print("handler ran:", ran)


asyncio.run(main())
