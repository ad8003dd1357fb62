"""The SDK's configuration types, for code written against it:
``SessionConfig``, ``ResumeSessionConfig``, ``MessageOptions``,
``ProviderConfig`` (bring your own key), ``SystemMessageConfig`` (TypedDicts,
as in ``copilot.types`` of SDK 0.1) and ``PermissionHandler`` (as in
``copilot.session`` of SDK 1.0)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, NotRequired, TypedDict

from copilot_repl.api.events import SessionEvent

SessionEventHandler = Callable[[SessionEvent], None]


class SystemMessageAppendConfig(TypedDict, total=False):
    mode: Literal["append"]
    content: str


class SystemMessageReplaceConfig(TypedDict):
    mode: Literal["replace"]
    content: str


SystemMessageConfig = SystemMessageAppendConfig | SystemMessageReplaceConfig


class ProviderConfig(TypedDict, total=False):
    """Bring your own key: any OpenAI-compatible endpoint."""

    type: Literal["openai", "azure", "anthropic"]
    wire_api: Literal["completions", "responses"]
    base_url: str
    api_key: str
    bearer_token: str


class SessionConfig(TypedDict, total=False):
    session_id: str
    model: str
    reasoning_effort: str
    system_message: SystemMessageConfig | str
    on_permission_request: Callable[..., Any]
    provider: ProviderConfig
    streaming: bool
    on_event: SessionEventHandler
    tools: list[Any]
    available_tools: list[str]
    excluded_tools: list[str]
    hooks: Any
    working_directory: str
    mcp_servers: dict[str, Any]
    custom_agents: list[Any]


class ResumeSessionConfig(TypedDict, total=False):
    model: str
    reasoning_effort: str
    system_message: SystemMessageConfig | str
    on_permission_request: Callable[..., Any]
    provider: ProviderConfig
    streaming: bool
    on_event: SessionEventHandler


class MessageOptions(TypedDict):
    prompt: str
    attachments: NotRequired[list[Any]]
    mode: NotRequired[Literal["enqueue", "immediate"]]


class PermissionHandler:
    """Ready-made permission handlers (``on_permission_request=``)."""

    @staticmethod
    def approve_all(request: Any, invocation: Any) -> dict[str, str]:
        return {"kind": "approve-once"}

    @staticmethod
    def deny_all(request: Any, invocation: Any) -> dict[str, str]:
        return {"kind": "denied-interactively-by-user"}


# The decisions a permission handler returns, as the SDK's generated
# ``copilot.generated.rpc`` classes (also importable from there).
@dataclass
class PermissionDecisionApproveOnce:
    kind: ClassVar[str] = "approve-once"


@dataclass
class PermissionDecisionReject:
    """Refuse, optionally telling the model why (``feedback``)."""

    kind: ClassVar[str] = "reject"
    feedback: str | None = None


@dataclass
class PermissionDecisionDeniedInteractivelyByUser:
    kind: ClassVar[str] = "denied-interactively-by-user"
    feedback: str | None = None


@dataclass
class PermissionDecisionUserNotAvailable:
    """No user could be asked: refused, as any decision that approves nothing."""

    kind: ClassVar[str] = "user-not-available"


@dataclass
class PermissionNoResult:
    """The SDK's sentinel leaving a request to another connected client; a
    copilot-repl session has no other client, so the call is refused."""

    kind: str = "no-result"


# What a permission handler returns (the SDK's ``copilot.session`` alias).
PermissionRequestResult = (
    PermissionDecisionApproveOnce
    | PermissionDecisionReject
    | PermissionDecisionDeniedInteractivelyByUser
    | PermissionDecisionUserNotAvailable
    | PermissionNoResult
)


# The SDK's overrides of what its runtime believes of a model
# (``create_session(model_capabilities=...)``): importable; copilot-repl has no
# model catalogue to override, so a non-empty one is refused in one line.
@dataclass
class ModelSupportsOverride:
    vision: bool | None = None
    reasoning_effort: bool | None = None


@dataclass
class ModelVisionLimitsOverride:
    supported_media_types: list[str] | None = None
    max_prompt_images: int | None = None
    max_prompt_image_size: int | None = None


@dataclass
class ModelLimitsOverride:
    max_prompt_tokens: int | None = None
    max_output_tokens: int | None = None
    max_context_window_tokens: int | None = None
    vision: ModelVisionLimitsOverride | None = None


@dataclass
class ModelCapabilitiesOverride:
    supports: ModelSupportsOverride | None = None
    limits: ModelLimitsOverride | None = None
