"""A prompt sent with mode="immediate" while a reply is on its way is
answered before the prompts already queued."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1", streaming=True
        )
        prompts = []
        streaming = asyncio.Event()

        def on_event(event):
            if event.type.value == "user.message":
                prompts.append(event.data.content)
            elif event.type.value == "assistant.message_delta":
                streaming.set()

        session.on(on_event)
        await session.send("Plan the trip #delay=0.1 #deltas=30")
        await asyncio.wait_for(streaming.wait(), 60)  # its reply is on its way
        await session.send("Book the hotel")
        reply = await session.send_and_wait("Stop: use trains only", mode="immediate")
        print("reply:", reply.data.content if reply else None)
        for prompt in prompts:
            print("asked:", prompt)
        await session.disconnect()


asyncio.run(main())
