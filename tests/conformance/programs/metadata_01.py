"""SDK 0.1's SessionMetadata: camelCase attributes."""
# sdk: 0.1

import asyncio
from datetime import datetime

from copilot import CopilotClient


async def main() -> None:
    client = CopilotClient()
    await client.start()
    session = await client.create_session({"model": "gpt-4.1"})
    await session.send_and_wait({"prompt": "hello"})
    sessions = await client.list_sessions()
    mine = [s for s in sessions if s.sessionId == session.session_id]
    print("found:", len(mine))
    times = (mine[0].startTime, mine[0].modifiedTime)
    print("times:", [type(t).__name__ for t in times])
    print("parse:", all(datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times))
    print("remote:", mine[0].isRemote)
    await session.destroy()
    await client.stop()


asyncio.run(main())
