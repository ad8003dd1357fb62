"""After abort(), the partial reply is not sent again; history has abort, no message."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler

CORE = ("session.start", "user.message", "assistant.turn_start", "assistant.message",
        "assistant.turn_end", "abort")


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
        await session.send("Write a long story #delay=0.05 #deltas=300")
        await asyncio.wait_for(first_delta.wait(), 60)
        await session.abort()
        await asyncio.wait_for(idle.wait(), 60)
        reply = await session.send_and_wait("Now a short one")
        print("reply:", reply.data.content if reply else None)
        history = await session.get_events()
        print("history:", [e.type.value for e in history if e.type.value in CORE])
        aborts = [e for e in history if e.type.value == "abort"]
        print("abort reason:", aborts[0].data.reason.value if aborts else None)
        await session.disconnect()


asyncio.run(main())
