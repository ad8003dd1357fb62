"""The events of one turn, in order, as a handler sees them."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1"
        )
        seen = []
        session.on(lambda event: seen.append(event.type.value))
        reply = await session.send_and_wait("What is 2+2?")
        print("reply:", reply.data.content if reply else None)
        for kind in (
            "user.message",
            "assistant.turn_start",
            "assistant.message",
            "assistant.turn_end",
            "session.idle",
        ):
            print(kind, seen.count(kind))
        await session.disconnect()


asyncio.run(main())
