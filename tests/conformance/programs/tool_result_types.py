"""A handler's ToolResult with a result type other than success: the event's
error carries the type as its code, and the handler's error (else its text) as
its message; the model is told the text. ("rejected", which ends the turn:
tool_result_rejected.)"""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler
from copilot.tools import ToolInvocation, ToolResult, define_tool


@define_tool("access_secret", description="Accesses a secret")
def secret(invocation: ToolInvocation) -> ToolResult:
    return ToolResult(text_result_for_llm="Access denied: no", result_type="denied")


@define_tool("flaky", description="Fails")
def flaky(invocation: ToolInvocation) -> ToolResult:
    return ToolResult(text_result_for_llm="It broke", result_type="failure", error="boom")


def show(event) -> None:
    if event.type.value == "tool.execution_complete":
        d = event.data
        error = (d.error.code, d.error.message) if d.error else None
        print(event.type.value, d.success, error)


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all,
            model="gpt-4.1",
            tools=[secret, flaky],
            available_tools=["access_secret", "flaky"],
        )
        session.on(show)
        for name in ("access_secret", "flaky"):
            reply = await session.send_and_wait(f"Go. #call={name}:{{}}")
            print("reply:", reply.data.content if reply else None)
        await session.disconnect()


asyncio.run(main())
