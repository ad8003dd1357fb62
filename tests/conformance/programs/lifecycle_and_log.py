"""client.on_lifecycle, session.log(), list_sessions' summary and context, and the
working-directory filter."""
# sdk: 1.0

import asyncio
import os

from copilot import CopilotClient
from copilot.client import SessionListFilter
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        lifecycle = []
        client.on_lifecycle(lambda e: lifecycle.append(e.type))
        seen = []
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1",
            on_event=seen.append,
        )
        await session.send_and_wait("What is the capital of France?")
        await session.log("a note for the timeline")
        await session.log("a warning", level="warning")
        logged = [(e.type.value, e.data.message, e.ephemeral) for e in seen
                  if e.type.value in ("session.info", "session.warning")]
        kinds = [getattr(e.data, "info_type", None) or getattr(e.data, "warning_type", None)
                 for e in seen if e.type.value in ("session.info", "session.warning")]
        print("log kinds:", kinds)
        print("logged:", logged)
        history = await session.get_events()
        print("log in history:", [e.type.value for e in history
                                  if e.type.value in ("session.info", "session.warning")])
        sessions = await client.list_sessions()
        mine = [s for s in sessions if s.session_id == session.session_id][0]
        print("summary:", mine.summary)
        print("cwd:", mine.context.working_directory == os.getcwd() if mine.context else None)
        here = await client.list_sessions(SessionListFilter(working_directory=os.getcwd()))
        print("filter here:", [s.session_id == session.session_id for s in here])
        there = await client.list_sessions(SessionListFilter(working_directory="/nonexistent"))
        print("filter elsewhere:", len(there))
        await session.disconnect()
        await client.delete_session(session.session_id)
        print("lifecycle:", sorted(set(lifecycle)))


asyncio.run(main())
