"""A session disconnected and resumed keeps its history."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all,
            model="gpt-4.1",
            session_id="resume-me",
        )
        await session.send_and_wait("Remember the number 42")
        await session.disconnect()

        resumed = await client.resume_session(
            "resume-me", on_permission_request=PermissionHandler.approve_all
        )
        print("resumed:", resumed.session_id)
        reply = await resumed.send_and_wait("What number did I say?")
        print("reply:", reply.data.content if reply else None)
        for event in await resumed.get_events():
            if event.type.value in ("user.message", "assistant.message"):
                print(event.type.value)
        await resumed.disconnect()
        await client.delete_session("resume-me")


asyncio.run(main())
