"""The seed recipe, examples/multiple_sessions.py, with the import of the real SDK."""
# sdk: 0.1
# reply-delay: 1

import asyncio

from copilot import CopilotClient


async def main() -> None:
    client = CopilotClient()
    await client.start()

    # Create multiple independent sessions
    session1 = await client.create_session()
    session2 = await client.create_session({"session_id": "user-123-chat"})
    session3 = await client.create_session({"model": "local"})

    # Each session maintains its own conversation history
    await session1.send({"prompt": "You are helping with a Python project"})
    await session2.send({"prompt": "You are helping with a TypeScript project"})
    await session3.send({"prompt": "You are helping with a Go project"})

    # Follow-up messages stay in their respective contexts
    reply = await session1.send_and_wait({"prompt": "How do I create a virtual environment?"})
    print(f"[{session1.session_id}]", reply.data.content if reply else "(no reply)")
    reply = await session2.send_and_wait({"prompt": "How do I set up tsconfig?"})
    print(f"[{session2.session_id}]", reply.data.content if reply else "(no reply)")

    # List sessions, newest first
    for info in await client.list_sessions():
        print(info["session_id"], info["modified_time"])

    # Clean up
    await client.delete_session("user-123-chat")
    for s in (session1, session3):
        await client.delete_session(s.session_id)
    await client.stop()


if __name__ == "__main__":
    asyncio.run(main())
