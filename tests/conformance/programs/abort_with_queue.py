"""abort() while a reply streams and another prompt waits behind it; the
prompt sent after the abort shows whether the waiting one was asked."""
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
        prompts = []

        def on_event(event):
            if event.type.value == "assistant.message_delta":
                first_delta.set()
            elif event.type.value == "user.message":
                prompts.append(event.data.content)
            elif event.type.value == "session.idle":
                idle.set()

        session.on(on_event)
        await session.send("Write a long story #delay=0.1 #deltas=300")
        await asyncio.wait_for(first_delta.wait(), 60)
        await session.send("Then a poem")
        await session.abort()
        await asyncio.wait_for(idle.wait(), 60)
        # a prompt still queued would be asked before this one (prompts go in order)
        await session.send_and_wait("Last: a haiku", timeout=60)
        for prompt in prompts:
            print("asked:", prompt)
        await session.disconnect()


asyncio.run(main())
