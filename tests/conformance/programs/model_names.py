"""Model ids in events and metadata; resume_session(model=...) emits no model_change."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        seen = []
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1",
            on_event=seen.append,
        )
        reply = await session.send_and_wait("hello")
        print("message model:", reply.data.model)
        start = [e for e in seen if e.type.value == "session.start"][0]
        print("start model:", start.data.selected_model)
        sid = session.session_id
        await session.disconnect()
        later = []
        resumed = await client.resume_session(
            sid, on_permission_request=PermissionHandler.approve_all, model="gpt-4.1",
            on_event=later.append,
        )
        # (whether session.resume itself reaches an on_event given to resume_session
        # depends on timing on the SDK: not printed)
        print("model_change on resume:",
              any(e.type.value == "session.model_change" for e in later))
        await resumed.set_model("gpt-4.1-mini")
        changes = [e.data for e in later if e.type.value == "session.model_change"]
        print("model change:", [(c.previous_model, c.new_model) for c in changes])
        await resumed.disconnect()


asyncio.run(main())
