"""The Streaming example of the SDK's README (github-copilot-sdk 1.0.27), as written."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session_events import (
    AssistantMessageData,
    AssistantMessageDeltaData,
    AssistantReasoningData,
    AssistantReasoningDeltaData,
    SessionAutopilotStoppedData,
    SessionIdleData,
    SessionMode,
)
from copilot.session import PermissionHandler


async def main():
    async with CopilotClient() as client:
        async with await client.create_session(
            on_permission_request=PermissionHandler.approve_all,
            model="gpt-5",
            streaming=True,
        ) as session:
            # Wait for non-Autopilot idle or this request's Autopilot stop
            request_id = None
            pending = []
            done = asyncio.Event()

            def observe(event):
                match event.data:
                    case AssistantMessageDeltaData() as data:
                        # Streaming message chunk - print incrementally
                        delta = data.delta_content or ""
                        print(delta, end="", flush=True)
                    case AssistantReasoningDeltaData() as data:
                        # Streaming reasoning chunk (if model supports reasoning)
                        delta = data.delta_content or ""
                        print(delta, end="", flush=True)
                    case AssistantMessageData() as data:
                        # Final message - complete content
                        print("\n--- Final message ---")
                        print(data.content)
                    case AssistantReasoningData() as data:
                        # Final reasoning content (if model supports reasoning)
                        print("--- Reasoning ---")
                        print(data.content)
                    case SessionIdleData() as data if data.mode != SessionMode.AUTOPILOT:
                        # Non-Autopilot request finished processing
                        done.set()
                    case SessionAutopilotStoppedData() as data if (
                        request_id and data.request_id == request_id
                    ):
                        # This Autopilot request settled; attached shells may continue
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
            request_id = await session.send("Tell me a short story")
            for event in pending:
                observe(event)
            pending.clear()
            await done.wait()  # Wait for streaming to complete


asyncio.run(main())
