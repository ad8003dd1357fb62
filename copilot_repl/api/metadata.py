"""What ``list_sessions``/``get_session_metadata`` return, and the small
result types of the client (``ping``, ``list_models``), shaped as in the SDK."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any


@dataclass
class SessionContext:
    """As the SDK's: where a session was created (copilot-repl knows the
    working directory only)."""

    working_directory: str
    git_root: str | None = None
    repository: str | None = None
    branch: str | None = None

    @property
    def cwd(self) -> str:
        """SDK 0.1's name."""
        return self.working_directory

    def to_dict(self) -> dict[str, Any]:
        return {"cwd": self.working_directory}


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
    context: SessionContext | None = None
    model: str = ""
    message_count: int = 0

    # SDK 0.1's names (camelCase; the times as ISO 8601 strings, as 0.1 had them)
    @property
    def sessionId(self) -> str:  # noqa: N802
        return self.session_id

    @property
    def startTime(self) -> str:  # noqa: N802
        return self.start_time.isoformat()

    @property
    def modifiedTime(self) -> str:  # noqa: N802
        return self.modified_time.isoformat()

    @property
    def isRemote(self) -> bool:  # noqa: N802
        return self.is_remote

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
            "context": self.context.to_dict() if self.context else None,
            "model": self.model,
            "messageCount": self.message_count,
        }


# The name copilot-repl used before it matched the SDK.
SessionInfo = SessionMetadata


@dataclass
class SessionListFilter:
    """As the SDK's: sessions created in ``working_directory`` (0.1: ``cwd``);
    copilot-repl knows no git root, repository or branch: a filter naming
    one of those matches none."""

    working_directory: str | None = None  # SDK 1.0's name
    git_root: str | None = None
    repository: str | None = None
    branch: str | None = None
    cwd: str | None = None  # SDK 0.1's name


@dataclass
class SessionLifecycleEvent:
    """What ``CopilotClient.on_lifecycle`` handlers get: ``type`` is
    ``session.created``, ``session.deleted`` or ``session.updated``."""

    type: str
    session_id: str
    metadata: SessionMetadata | None = None


@dataclass(frozen=True)
class RuntimeConnection:
    """The SDK's choice of runtime process (stdio, TCP, a URL, in-process).
    copilot-repl runs no runtime: accepted, and changes nothing."""

    kind: str = "stdio"
    details: tuple[tuple[str, Any], ...] = ()

    @staticmethod
    def for_stdio(**kw: Any) -> RuntimeConnection:
        return RuntimeConnection("stdio", tuple(kw.items()))

    @staticmethod
    def for_tcp(**kw: Any) -> RuntimeConnection:
        return RuntimeConnection("tcp", tuple(kw.items()))

    @staticmethod
    def for_uri(url: str, **kw: Any) -> RuntimeConnection:
        return RuntimeConnection("uri", (("url", url), *kw.items()))

    @staticmethod
    def for_inprocess(**kw: Any) -> RuntimeConnection:
        return RuntimeConnection("inprocess", tuple(kw.items()))


@dataclass
class PingResponse:
    message: str
    timestamp: int
    protocol_version: int | None = None


@dataclass
class ModelVisionLimits:
    supported_media_types: list[str] | None = None
    max_prompt_images: int | None = None
    max_prompt_image_size: int | None = None


@dataclass
class ModelLimits:
    max_prompt_tokens: int | None = None
    max_context_window_tokens: int | None = None
    vision: ModelVisionLimits | None = None


@dataclass
class ModelSupports:
    vision: bool = False
    reasoning_effort: bool = False


@dataclass
class ModelCapabilities:
    """As the SDK's: what a model supports and its limits (copilot-repl
    fills in the context window a provider is configured with)."""

    supports: ModelSupports = field(default_factory=ModelSupports)
    limits: ModelLimits = field(default_factory=ModelLimits)


@dataclass
class ModelInfo:
    """One model a provider offers (``id`` is ``provider:model``)."""

    id: str
    name: str
    capabilities: ModelCapabilities = field(default_factory=ModelCapabilities)
    policy: Any = None
    billing: Any = None
    supported_reasoning_efforts: list[str] | None = None
    default_reasoning_effort: str | None = None


@dataclass
class StopError(Exception):
    """As the SDK's: one failure met while ``stop()`` cleaned up."""

    message: str

    def __post_init__(self) -> None:
        Exception.__init__(self, self.message)


@dataclass
class GetStatusResponse:
    """As the SDK's ``get_status()``: copilot-repl's version, and the SDK
    protocol version whose API it follows (there is no runtime to ask)."""

    version: str
    protocol_version: int


@dataclass
class GetAuthStatusResponse:
    """As the SDK's ``get_auth_status()`` (camelCase fields, as the SDK's)."""

    isAuthenticated: bool  # noqa: N815 - the SDK's field name
    authType: str | None = None  # noqa: N815
    host: str | None = None
    login: str | None = None
    statusMessage: str | None = None  # noqa: N815
