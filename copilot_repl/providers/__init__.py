"""Model providers: every one streams a chat completion through ``stream``.

``make_provider`` picks the implementation for a provider's ``kind``; the
HTTP client (httpx) is imported only when the first request is made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from ..config import ProviderConfig

DeltaFn = Callable[[str], None]
StatusFn = Callable[[str], None]


@dataclass
class Completion:
    """How a streamed reply ended."""

    text: str
    finish_reason: str | None
    completion_tokens: int | None = None


class Provider(Protocol):
    config: ProviderConfig

    async def stream(
        self,
        model: str,
        messages: list[dict[str, str]],
        on_delta: DeltaFn,
        on_status: StatusFn,
        *,
        session_id: str = "",
    ) -> Completion: ...

    async def list_models(self) -> list[str]: ...

    async def forget_session(self, session_id: str) -> None:
        """Drop any state the provider keeps for a deleted session."""

    async def aclose(self) -> None: ...


def make_provider(
    config: ProviderConfig,
    env: Mapping[str, str],
    *,
    allow_insecure: bool = False,
    transport: Any = None,
    data_dir: Path | None = None,
) -> Provider:
    if config.kind == "copilot":
        from .copilot import CopilotProvider

        return CopilotProvider(config, env, data_dir=data_dir, allow_insecure=allow_insecure)
    if config.kind == "local":
        from .local import LocalProvider

        return LocalProvider(config, env)
    from .openai import OpenAIProvider

    return OpenAIProvider(config, env, allow_insecure=allow_insecure, transport=transport)
