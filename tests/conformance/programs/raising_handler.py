"""A handler that raises does not stop the turn, nor the other handlers."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1"
        )

        def broken(event):
            raise ValueError(f"handler bug on {event.type.value}")

        seen = []
        session.on(broken)
        session.on(lambda e: seen.append(e.type.value))
        reply = await session.send_and_wait("Are you there?")
        print("reply:", reply.data.content if reply else None)
        print("idle seen:", "session.idle" in seen)
        await session.disconnect()


asyncio.run(main())
