"""The event envelope: ids, parents, ephemeral; the ids seen live are in get_events()."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler

CORE = ("session.start", "user.message", "assistant.turn_start", "assistant.message",
        "assistant.turn_end", "abort", "session.resume", "session.model_change")


async def main() -> None:
    async with CopilotClient() as client:
        seen = []
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1",
            on_event=seen.append,
        )
        await session.send_and_wait("one")
        await session.send_and_wait("two")
        first = [e for e in seen if e.type.value == "session.start"]
        print("session.start parent:", first[0].parent_id if first else "not seen")
        print("all but the first have a parent:", all(e.parent_id for e in seen[1:]))
        for kind in ("session.idle", "pending_messages.modified", "assistant.usage",
                     "user.message", "assistant.message", "assistant.turn_start"):
            flags = {e.ephemeral for e in seen if e.type.value == kind}
            print(kind, "ephemeral:", sorted(map(str, flags)))
        users = [e for e in seen if e.type.value == "user.message"]
        ends = [e for e in seen if e.type.value == "assistant.turn_end"]
        print("second prompt's parent is the first turn's end:", users[1].parent_id == ends[0].id)
        history = await session.get_events()
        ids = {e.id for e in history}
        live = [e for e in seen if e.type.value in CORE]
        print("live events found in get_events():", all(e.id in ids for e in live), len(live))
        print("history:", [e.type.value for e in history if e.type.value in CORE])
        again = await session.get_events()
        print("same ids twice:", [e.id for e in again] == [e.id for e in history])
        await session.disconnect()


asyncio.run(main())
