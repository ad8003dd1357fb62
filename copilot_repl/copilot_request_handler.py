"""SDK import path ``copilot.copilot_request_handler``: the hook through which
the SDK's runtime lets a program see or replace its model requests. Importable,
so programs that define one load; copilot-repl's providers make their own
requests, so a client given one (``request_handler=``) refuses it in
one line."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CopilotRequestContext", "CopilotRequestHandler"]


@dataclass
class CopilotRequestContext:
    """Per-request context handed to a ``CopilotRequestHandler``."""

    request_id: str
    transport: str
    url: str
    headers: Any
    cancel_event: asyncio.Event = field(default_factory=asyncio.Event)
    session_id: str | None = None
    agent_id: str | None = None
    agent_invocation_id: str | None = None
    parent_agent_id: str | None = None
    interaction_type: str | None = None


class CopilotRequestHandler:
    """Base class of a program's request hook (see the module's docstring)."""

    async def send_request(self, request: Any, ctx: CopilotRequestContext) -> Any:
        # start-up: a program importing this module loads no httpx until a request
        import httpx

        async with httpx.AsyncClient() as client:
            return await client.send(request)
