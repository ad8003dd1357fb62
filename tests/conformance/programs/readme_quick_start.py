"""The Quick Start of the SDK's README (github-copilot-sdk 1.0.27), as written."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session_events import (
    AssistantMessageData,
    SessionAutopilotStoppedData,
    SessionIdleData,
    SessionMode,
)
from copilot.session import PermissionHandler


async def main():
    # Client automatically starts on enter and cleans up on exit
    async with CopilotClient() as client:
        # Create a session with automatic cleanup
        async with await client.create_session(
            on_permission_request=PermissionHandler.approve_all,
            model="gpt-5",
        ) as session:
            # Wait for non-Autopilot idle or this request's Autopilot stop
            request_id = None
            pending = []
            done = asyncio.Event()

            def observe(event):
                match event.data:
                    case AssistantMessageData() as data:
                        print(data.content)
                    case SessionIdleData() as data if data.mode != SessionMode.AUTOPILOT:
                        done.set()
                    case SessionAutopilotStoppedData() as data if (
                        request_id and data.request_id == request_id
                    ):
                        done.set()

            def on_event(event):
                if event.agent_id:
                    return
                if request_id is None and isinstance(
                    event.data, (SessionIdleData, SessionAutopilotStoppedData)
                ):
                    pending.append(event)
                else:
                    observe(event)

            session.on(on_event)
            request_id = await session.send("What is 2+2?")
            for event in pending:
                observe(event)
            pending.clear()
            await done.wait()


asyncio.run(main())
