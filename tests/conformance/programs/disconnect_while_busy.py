"""disconnect() while a reply is on its way and another prompt waits."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1", streaming=True
        )
        streaming = asyncio.Event()
        session.on(
            lambda e: streaming.set() if e.type.value == "assistant.message_delta" else None
        )
        await session.send("First question #delay=0.1 #deltas=30")
        await session.send("Second question")
        await asyncio.wait_for(streaming.wait(), 60)  # the first is on its way from the model
        await session.disconnect()
        print("disconnected")


asyncio.run(main())
