"""What ``list_sessions``/``get_session_metadata`` return, and the small
result types of the client (``ping``, ``list_models``), shaped as in the SDK."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass
class SessionMetadata:
    """As the SDK's ``SessionMetadata``; also subscriptable
    (``info["session_id"]``), as the Copilot SDK recipe writes it.
    ``model`` and ``message_count`` are copilot-repl extras."""

    session_id: str
    start_time: datetime
    modified_time: datetime
    is_remote: bool = False
    summary: str | None = None
    context: Any = None
    model: str = ""
    message_count: int = 0

    def __getitem__(self, key: str) -> Any:
        return vars(self)[key]  # the fields, as a dict: KeyError for anything else

    def get(self, key: str, default: Any = None) -> Any:
        return vars(self).get(key, default)

    def keys(self) -> list[str]:
        return [f.name for f in fields(self)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "sessionId": self.session_id,
            "startTime": self.start_time.isoformat(),
            "modifiedTime": self.modified_time.isoformat(),
            "isRemote": self.is_remote,
            "summary": self.summary,
            "model": self.model,
            "messageCount": self.message_count,
        }


# The name copilot-repl used before it matched the SDK.
SessionInfo = SessionMetadata


@dataclass
class SessionListFilter:
    """Accepted for compatibility; copilot-repl sessions have no working
    directory or repository: a filter with any field set matches none."""

    working_directory: str | None = None  # SDK 1.0's name
    git_root: str | None = None
    repository: str | None = None
    branch: str | None = None
    cwd: str | None = None  # SDK 0.1's name


@dataclass
class PingResponse:
    message: str
    timestamp: int
    protocol_version: int | None = None


@dataclass
class ModelInfo:
    """One model a provider offers (``id`` is ``provider:model``)."""

    id: str
    name: str
    capabilities: dict[str, Any] = field(default_factory=dict)
