"""SDK 1.0 client options are accepted: working_directory, base_directory, connection,
telemetry, mode; RuntimeConnection is importable."""
# sdk: 1.0

import asyncio
import os

from copilot import CopilotClient, RuntimeConnection
from copilot.session import PermissionHandler


async def main() -> None:
    connection = RuntimeConnection.for_stdio(path=os.environ.get("COPILOT_CLI_PATH"))
    async with CopilotClient(
        working_directory=os.getcwd(),
        base_directory=None,
        connection=connection,
        telemetry=None,
        mode="copilot-cli",
    ) as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all, model="gpt-4.1"
        )
        reply = await session.send_and_wait("hello")
        print("reply:", reply.data.content if reply else None)
        await session.disconnect()


asyncio.run(main())
