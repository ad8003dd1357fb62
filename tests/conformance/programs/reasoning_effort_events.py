"""reasoning_effort in the events: on session.start when the session is
created with it, on session.model_change when set_model gives it."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        seen = []
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all,
            model="gpt-5",
            reasoning_effort="high",
            on_event=seen.append,
        )
        await session.send_and_wait("hello")
        start = [e for e in seen if e.type.value == "session.start"][0]
        print("start:", start.data.selected_model, start.data.reasoning_effort)
        await session.set_model("gpt-5-mini", reasoning_effort="low")
        await session.set_model("gpt-5")
        changes = [e.data for e in seen if e.type.value == "session.model_change"]
        for c in changes:
            print("change:", c.previous_model, c.new_model, c.previous_reasoning_effort,
                  c.reasoning_effort)
        saved = [e for e in await session.get_events() if e.type.value == "session.start"]
        print("saved start:", saved[0].data.reasoning_effort)
        await session.disconnect()


asyncio.run(main())
