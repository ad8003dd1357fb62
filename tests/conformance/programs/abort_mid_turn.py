"""abort() while a reply streams: the session goes idle and takes the next prompt."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1", streaming=True
        )
        first_delta = asyncio.Event()
        idle = asyncio.Event()

        def on_event(event):
            if event.type.value == "assistant.message_delta":
                first_delta.set()
            elif event.type.value == "session.idle":
                idle.set()

        session.on(on_event)
        await session.send("Write a long story #delay=0.1 #deltas=300")
        await asyncio.wait_for(first_delta.wait(), 60)
        await session.abort()
        await asyncio.wait_for(idle.wait(), 60)
        print("aborted")
        reply = await session.send_and_wait("Now a short one")
        print("reply:", reply.data.content if reply else None)
        await session.disconnect()


asyncio.run(main())
