"""Prompts sent while a reply is on its way wait their turn (mode="enqueue",
the default); send_and_wait returns the reply to its own prompt."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1"
        )
        idle = []
        session.on(lambda e: idle.append(e) if e.type.value == "session.idle" else None)
        await session.send("Tell me about Python #first_delay=1")
        await session.send("And about Go", mode="enqueue")
        reply = await session.send_and_wait("And about Rust")
        print("reply:", reply.data.content if reply else None)
        print("idle events:", len(idle))
        await session.disconnect()


asyncio.run(main())
