"""BYOK provider options: headers and wire_model reach the server."""
# sdk: 1.0

import asyncio
import os

from copilot import CopilotClient
from copilot.session import PermissionHandler

URL = os.environ.get("CONFORMANCE_PROVIDER_URL") or os.environ["OPENAI_BASE_URL"]


async def main() -> None:
    async with CopilotClient() as client:
        session = await client.create_session(
            on_permission_request=PermissionHandler.approve_all,
            model="gpt-4.1",
            provider={
                "type": "openai",
                "base_url": URL,
                "headers": {"X-Conformance": "yes"},
                "wire_model": "wired-model-1",
            },
        )
        reply = await session.send_and_wait("hello")
        print("reply:", reply.data.content if reply else None)
        await session.disconnect()


asyncio.run(main())
