"""session.error from the server: the HTTP status and the error type."""
# sdk: 1.0

import asyncio

from copilot import CopilotClient
from copilot.session import PermissionHandler


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1"
        )
        errors = []
        session.on(lambda e: errors.append(e.data) if e.type.value == "session.error" else None)
        for status in (400, 404):
            try:
                await session.send_and_wait(f"fail #status={status}")
            except Exception as exc:
                print("raised:", str(exc).startswith("Session error"))
        for data in errors:
            print("error:", data.error_type, data.status_code)
        await session.disconnect()


asyncio.run(main())
