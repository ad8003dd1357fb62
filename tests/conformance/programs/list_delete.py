"""list_sessions, get_session_metadata, get_last_session_id, delete_session."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient, SessionListFilter
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        for name in ("alpha", "beta"):
            session = await client.create_session(
                on_permission_request=PermissionHandler.approve_all,
                model="gpt-4.1",
                session_id=name,
            )
            await session.send_and_wait(f"Hello from {name}")
            await session.disconnect()
        mine = {"alpha", "beta"}
        listed = [s for s in await client.list_sessions() if s.session_id in mine]
        print("listed:", sorted(s.session_id for s in listed))
        elsewhere = SessionListFilter(repository="octo-org/no-such-repo")
        print("in a repository:", await client.list_sessions(elsewhere))
        print("types:", sorted({type(s.modified_time).__name__ for s in listed}))
        print("last:", await client.get_last_session_id())
        meta = await client.get_session_metadata("alpha")
        print("metadata:", meta.session_id if meta else None)
        await client.delete_session("alpha")
        left = [s.session_id for s in await client.list_sessions() if s.session_id in mine]
        print("after delete:", left)
        print("gone:", await client.get_session_metadata("alpha"))
        await client.delete_session("beta")


asyncio.run(main())
