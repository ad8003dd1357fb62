"""disconnect() while a reply is on its way and another prompt waits."""
# sdk: 1.0
# reply-delay: 2

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1"
        )
        started = asyncio.Event()
        session.on(lambda e: started.set() if e.type.value == "assistant.turn_start" else None)
        await session.send("First question")
        await session.send("Second question")
        await asyncio.wait_for(started.wait(), 60)
        await asyncio.sleep(0.5)  # the first is on its way to the model
        await session.disconnect()
        print("disconnected")


asyncio.run(main())
