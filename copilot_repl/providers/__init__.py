"""Model providers: every one streams a chat completion through ``stream``.

``make_provider`` picks the implementation for a provider's ``kind``; the
HTTP client (httpx) is imported only when the first request is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from copilot_repl.config import ProviderSettings
from copilot_repl.providers.base import Provider, ReplyEnd

__all__ = ["Provider", "ReplyEnd", "make_provider"]


def make_provider(
    config: ProviderSettings,
    env: Mapping[str, str],
    *,
    allow_insecure: bool = False,
    transport: Any = None,
    data_dir: Path | None = None,
) -> Provider:
    if config.kind == "copilot":
        # start-up: a provider's module (and httpx) when first used
        from copilot_repl.providers.copilot import CopilotProvider

        return CopilotProvider(config, env, data_dir=data_dir, allow_insecure=allow_insecure)
    if config.kind == "local":
        # start-up: a provider's module (and httpx) when first used
        from copilot_repl.providers.local import LocalProvider

        return LocalProvider(config, env)
    # start-up: a provider's module (and httpx) when first used
    from copilot_repl.providers.openai import OpenAIProvider

    return OpenAIProvider(config, env, allow_insecure=allow_insecure, transport=transport)
