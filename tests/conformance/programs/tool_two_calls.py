"""Two tools called in one reply, one of them with invalid arguments for its model."""
# sdk: 1.0

import asyncio
import builtins

from pydantic import BaseModel, Field

from copilot import CopilotClient
from copilot.session import PermissionHandler
from copilot.tools import define_tool


class WeatherParams(BaseModel):
    city: str = Field(description="The city to look up")


@define_tool(description="The weather in a city")
def get_weather(params: WeatherParams) -> str:
    return f"sunny in {params.city}"


class TimeParams(BaseModel):
    zone: str


@define_tool(description="The time in a zone")
async def get_time(params: TimeParams) -> str:
    return f"noon in {params.zone}"


lines = []


def print(*parts) -> None:  # noqa: A001
    """The calls run together: their events are printed sorted, at the end."""
    lines.append(" ".join(str(p) for p in parts))


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
            tools=[get_weather, get_time],
            available_tools=["get_weather", "get_time"],
        )
        session.on(show)
        reply = await session.send_and_wait('Both. #call=get_weather:{"city":"Oslo"} #call=get_time:{"zone":"UTC"} #call=get_weather:{"town":"Rome"}')
        print("reply:", reply.data.content if reply else None)
        await session.disconnect()
    for line in sorted(lines):
        builtins.print(line)


asyncio.run(main())
