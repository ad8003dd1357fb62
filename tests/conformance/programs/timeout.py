"""send_and_wait's timeout raises TimeoutError; the turn goes on."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1"
        )
        replies = []
        idle = asyncio.Event()

        def on_event(event):
            if event.type.value == "assistant.message":
                replies.append(event.data.content)
            elif event.type.value == "session.idle":
                idle.set()

        session.on(on_event)
        try:
            await session.send_and_wait("Think hard #first_delay=3", timeout=0.5)
        except TimeoutError as exc:
            print("timed out:", type(exc).__name__)
        await asyncio.wait_for(idle.wait(), 60)
        print("replies after the timeout:", len(replies))
        await session.disconnect()


asyncio.run(main())
