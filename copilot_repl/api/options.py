"""The options of ``create_session``/``resume_session`` and ``send``, in both
shapes the Copilot SDK has had: a dict (0.1: ``create_session({...})``,
``send({"prompt": ...})``) and keywords (1.0). Options copilot-repl cannot
honour (MCP servers through the SDK, hooks, agents) fail with one line naming
the option, unless they are empty. ``tools`` (``define_tool``),
``available_tools`` and ``excluded_tools`` are honoured (see api/toolrun.py)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot_repl.api import generated_options as sdk_names
from copilot_repl.errors import UsageError
from copilot_repl.providers.base import AskFn

# Honoured by copilot-repl.
SESSION_OPTIONS = {
    "session_id",
    "model",
    "system_message",
    "streaming",
    "on_permission_request",
    "provider",
    "reasoning_effort",
    "on_event",
    "name",
    "client_name",
    "working_directory",  # the session's context (list_sessions), no tools run there
    "tools",
    "available_tools",
    "excluded_tools",
    # accepted, never called: copilot-repl's MCP servers (config.toml) use no OAuth
    "on_mcp_auth_request",
}
# Part of the SDK, but about tools and agents that copilot-repl does not run.
UNSUPPORTED = {
    "mcp_servers": "MCP servers",
    "hooks": "session hooks",
    "custom_agents": "custom agents",
    "agent": "custom agents",
    "default_agent": "custom agents",
    "additional_directories": "a working directory for tools",
    "on_user_input_request": "the ask_user tool",
    "skill_directories": "skills",
    "disabled_skills": "skills",
    "infinite_sessions": "CLI workspaces (copilot-repl saves every session)",
    "config_dir": "a CLI config directory",
    "config_directory": "a CLI config directory",
    "commands": "slash commands",
    "on_elicitation_request": "elicitation",
    "enable_mcp_apps": "MCP apps",
    "model_capabilities": "model capability overrides (no model catalogue to override)",
    "github_token": "per-session tokens (give the client github_token, or config.toml)",
    "github_token_provider": "per-session tokens (give the client github_token, or config.toml)",
    "providers": "provider lists (give provider=, or providers in config.toml)",
    "models": "model lists (models come from the providers in config.toml)",
    "capi": "Copilot API settings per session (config.toml has them)",
}
# SDK options about what copilot-repl has not got (plan mode, sub-agents,
# custom-instruction files, built-in tools and agents, telemetry): accepted and
# ignored, as the value changes nothing a chat-only session does.
IGNORED = {
    "on_exit_plan_mode_request",  # never called: no plan mode
    "on_auto_mode_switch_request",  # never called: no autopilot
    "enable_session_telemetry",  # copilot-repl sends no telemetry
    "include_sub_agent_streaming_events",  # no sub-agents
    "skip_custom_instructions",  # no custom-instruction files are read
    "refresh_custom_instructions",
    "trust_working_directory",  # no built-in tools run in it
    "enable_file_change_tracking",  # no built-in tools change files
    "custom_agents_local_only",  # no custom agents
    "excluded_builtin_agents",  # no built-in agents
    "skip_embedding_retrieval",  # no embeddings
}
# Any other option of the installed SDK (api/generated_options.py) is refused
# in one line unless empty: a feature of the CLI's agent runtime.
RUNTIME = "the Copilot CLI's agent runtime"
SEND_OPTIONS = {"prompt", "mode", "attachments", "request_headers"}
SEND_UNSUPPORTED = {
    "source",
    "agent_mode",
    "display_prompt",
    "response_schema",
}
MAX_ATTACHMENT = 256 * 1024
MAX_IMAGE = 5 * 1024 * 1024

PermissionFn = Callable[..., Any]


@dataclass
class SessionSettings:
    """What a session keeps of its options (in memory, never on disk)."""

    streaming: bool = False
    ask_permission: AskFn | None = None
    reasoning_effort: str | None = None
    # the SDK's on_permission_request itself: asked about tools (custom-tool)
    permission_handler: PermissionFn | None = None
    tools: list[Any] = field(default_factory=list)  # copilot_repl.tools.Tool
    available_tools: list[str] | None = None
    excluded_tools: list[str] | None = None
    client_name: str = ""  # named in the User-Agent of its requests, as the CLI does


@dataclass
class SendOptions:
    prompt: str
    mode: str = "enqueue"
    timeout: float | None = None
    images: list[dict[str, Any]] = field(default_factory=list)  # see load_attachment
    headers: dict[str, str] | None = None  # request_headers: sent with the turn's requests


def merged(options: Mapping[str, Any] | None, kw: Mapping[str, Any]) -> dict[str, Any]:
    if options is not None and not isinstance(options, Mapping):
        raise TypeError("session options must be a dict (SessionConfig) or keyword arguments")
    return {**(options or {}), **kw}


def check_session_options(opts: Mapping[str, Any], *, resume: bool = False) -> None:
    """Every option of the installed SDK is honoured, ignored (``IGNORED``) or
    refused in one clear line unless empty; a name the SDK does not know
    raises TypeError, as a wrong keyword does on the SDK."""
    known = sdk_names.RESUME_SESSION_OPTIONS if resume else sdk_names.CREATE_SESSION_OPTIONS
    for key, value in opts.items():
        if key in SESSION_OPTIONS:
            continue
        if key in UNSUPPORTED or key in known:
            if key in IGNORED or _off(value):
                continue
            raise UsageError(
                f"session option {key!r} is not supported: copilot-repl runs chat only, "
                f"without {UNSUPPORTED.get(key, RUNTIME)}"
            )
        what = "resume_session" if resume else "create_session"
        raise TypeError(f"{what}() got an unexpected keyword argument {key!r}")


def _off(value: Any) -> bool:
    """An option that asks for nothing: empty, or a config turned off
    (``infinite_sessions={"enabled": False}``)."""
    if isinstance(value, Mapping) and value.get("enabled") is False:
        return True
    return value in (None, False, [], {}, "")


def settings_from(opts: Mapping[str, Any]) -> SessionSettings:
    handler = opts.get("on_permission_request")
    if handler is not None and not callable(handler):
        raise ValueError("on_permission_request must be callable when provided.")
    tools = list(opts.get("tools") or [])
    if tools:
        from copilot_repl.api.tools import Tool  # start-up: only a session with tools

    for tool in tools:
        if not isinstance(tool, Tool):
            raise TypeError(f"tools must be Tool objects (define_tool), not {type(tool).__name__}")
    names = [t.name for t in tools]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ValueError(f"two tools are named {twice[0]!r}")
    return SessionSettings(
        streaming=bool(opts.get("streaming", False)),
        ask_permission=_asker(handler) if handler is not None else None,
        reasoning_effort=opts.get("reasoning_effort"),
        permission_handler=handler,
        tools=tools,
        available_tools=_names(opts.get("available_tools"), "available_tools"),
        excluded_tools=_names(opts.get("excluded_tools"), "excluded_tools"),
        client_name=str(opts.get("client_name") or ""),
    )


def _names(value: Any, what: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{what} must be a list of tool names")
    return list(value)


async def decide(handler: PermissionFn | None, request: Any, session_id: str) -> tuple[str, str]:
    """Ask an SDK permission handler about ``request``: ("approved", ""),
    ("denied", feedback) or ("no-handler", "")."""
    if handler is None:
        return "no-handler", ""
    result = handler(request, {"session_id": session_id})
    if inspect.isawaitable(result):
        result = await result
    if _approved(result):
        return "approved", ""
    feedback = result.get("feedback") if isinstance(result, Mapping) else None
    if feedback is None and not isinstance(result, Mapping | bool):
        feedback = getattr(result, "feedback", None)  # an SDK result object, or the user's
    return "denied", feedback if isinstance(feedback, str) else ""


def _asker(handler: PermissionFn) -> AskFn:
    """Adapt an SDK permission handler (``handler(request, invocation)``
    returning a decision) to the providers' yes/no question."""

    async def ask(what: str) -> bool:
        request = {"kind": "tool", "description": what}
        result = handler(request, {"session_id": ""})
        if inspect.isawaitable(result):
            result = await result
        return _approved(result)

    return ask


def _approved(result: Any) -> bool:
    if isinstance(result, bool):
        return result
    # the user's handler returns a dict, or an SDK decision object (any version)
    mapping = isinstance(result, Mapping)
    kind = result.get("kind") if mapping else getattr(result, "kind", None)  # SDK object
    kind = getattr(kind, "value", kind)  # an enum, or a str
    if isinstance(kind, str):
        return kind.startswith("approve") or kind == "approved"
    return type(result).__name__.startswith("PermissionDecisionApprove")


def system_text(value: Any, default: str) -> str:
    """``system_message``: a string, or ``{"content", "mode": "append"|"replace"}``
    (append, the SDK's default, adds to the configured system prompt)."""
    if value is None:
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        content = str(value.get("content") or "")
        mode = value.get("mode", "append")
        if mode == "replace":
            return content
        if mode == "append":
            return "\n\n".join(p for p in (default, content) if p)
        raise UsageError(f"system_message mode {mode!r}: copilot-repl supports append, replace")
    raise TypeError("system_message must be a string or {'content': ..., 'mode': ...}")


def send_options(prompt: str | Mapping[str, Any] | None, kw: Mapping[str, Any]) -> SendOptions:
    """``send("text", mode=...)`` (1.0) or ``send({"prompt": ..., "mode": ...})`` (0.1)."""
    opts: dict[str, Any] = dict(prompt) if isinstance(prompt, Mapping) else {"prompt": prompt}
    opts.update(kw)
    timeout = opts.pop("timeout", None)
    for key in SEND_UNSUPPORTED:
        if opts.pop(key, None) is not None:
            raise UsageError(f"send option {key!r} is not supported by copilot-repl")
    unknown = sorted(set(opts) - SEND_OPTIONS)
    if unknown:
        raise TypeError(f"send() got an unexpected keyword argument {unknown[0]!r}")
    text = opts.get("prompt")
    if not isinstance(text, str) or not text.strip():
        raise UsageError("the prompt is empty")
    mode = opts.get("mode") or "enqueue"
    if mode not in ("enqueue", "immediate"):
        raise ValueError(f"mode must be 'enqueue' or 'immediate', not {mode!r}")
    blocks, images = attachments(opts.get("attachments") or [])
    timeout_s = float(timeout) if timeout is not None else None
    headers = opts.get("request_headers") or None
    if headers is not None and (
        not isinstance(headers, Mapping)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
    ):
        raise TypeError("request_headers must be a dict of strings")
    return SendOptions(text + blocks, mode, timeout_s, images, dict(headers) if headers else None)


def attachments(items: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """The SDK's file attachments: text files sent inline, each as a fenced
    block after the prompt (chat models have no file access), images as
    image parts of the message (``load_attachment``); other kinds fail
    clearly."""
    blocks, images = [], []
    for item in items:
        kind = item.get("type") if isinstance(item, Mapping) else None
        path = item.get("path") if isinstance(item, Mapping) else None
        if kind != "file" or not isinstance(path, str):
            raise UsageError(
                f"attachment {item!r} is not supported: copilot-repl attaches text files "
                "and images ({'type': 'file', 'path': ...})"
            )
        loaded = load_attachment(Path(path), item.get("displayName"))
        if isinstance(loaded, str):
            blocks.append(loaded)
        else:
            images.append(loaded)
    return "".join(blocks), images


def load_attachment(path: Path, name: str | None = None) -> str | dict[str, Any]:
    """A file the user attaches: an image (PNG, JPEG, GIF or WebP, known by
    its first bytes; up to ``MAX_IMAGE``) as the SDK's blob attachment, saved
    with the message and sent as an image part; any other file as text
    (``file_block``)."""
    import base64  # start-up: only -f, :file and attachments need these

    from copilot_repl.history.inputs import read_bytes, sniff_image  # (as base64)

    mime = sniff_image(path)
    if mime is None:
        return file_block(path, name)
    data = read_bytes(path, limit=MAX_IMAGE, doing="attach")
    return {
        "type": "blob",
        "mime_type": mime,
        "data": base64.b64encode(data).decode("ascii"),
        "display_name": name or path.name,
        "byte_length": len(data),
    }


def blob_attachment(image: Mapping[str, Any]) -> Any:
    """An image ``load_attachment`` made, as the SDK's ``AttachmentBlob``."""
    from copilot_repl.api.generated_events_all import AttachmentBlob  # start-up: 12k lines

    return AttachmentBlob(
        image["mime_type"],
        byte_length=image.get("byte_length"),
        data=image.get("data"),
        display_name=image.get("display_name"),
    )


def file_block(path: Path, name: str | None = None) -> str:
    """A text file as a fenced block (refuses binary, missing and big files,
    and anything not a regular file: ``history/inputs.py``)."""
    from copilot_repl.history.inputs import read_bytes  # start-up: only -f needs it

    data = read_bytes(path, limit=MAX_ATTACHMENT, doing="attach")
    if b"\x00" in data:
        raise UsageError(f"cannot attach {path}: it is a binary file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"cannot attach {path}: not UTF-8 text") from None
    fence = "```"
    while fence in text:
        fence += "`"
    return f"\n\n{name or path.name}:\n{fence}\n{text.rstrip()}\n{fence}\n"


# The SDK's ProviderConfig (1.0.27), key by key: honoured, or refused in one line.
_BYOK_HONOURED = {"type", "base_url", "api_key", "bearer_token", "headers", "model_id"}
_BYOK_HONOURED |= {"wire_model", "max_prompt_tokens", "max_output_tokens", "wire_api"}
_BYOK_HONOURED |= {"transport", "model_provider"}  # model_provider: telemetry only (none here)
_BYOK_REFUSED = {
    "api_key_command": "a command run for each request's key (give api_key)",
    "azure": "Azure OpenAI options (use its OpenAI-compatible base_url)",
    "bearer_token_provider": "a per-request token callback (give bearer_token)",
}


def byok_config(provider: Mapping[str, Any]) -> tuple[str, dict[str, Any], str]:
    """The base URL, the ``ProviderConfig`` settings and the key of an SDK
    ``provider={...}`` option; ``UsageError`` (one line) for what copilot-repl
    cannot honour."""
    for key, value in provider.items():
        if key in _BYOK_REFUSED and value not in (None, "", {}, [], False):
            raise UsageError(f"provider {key}: copilot-repl does not support {_BYOK_REFUSED[key]}")
        if key not in _BYOK_HONOURED and key not in _BYOK_REFUSED:
            raise UsageError(f"provider {key!r}: not a provider option of the Copilot SDK")
    url = str(provider.get("base_url") or "")
    if not url:
        raise UsageError("provider needs base_url")
    kind = provider.get("type") or "openai"
    if kind != "openai":
        raise UsageError(f"provider type {kind!r}: copilot-repl speaks the OpenAI API")
    if (provider.get("wire_api") or "completions") != "completions":
        raise UsageError("provider wire_api 'responses': copilot-repl speaks Chat Completions")
    if (provider.get("transport") or "http") != "http":
        raise UsageError(f"provider transport {provider['transport']!r}: only http")
    settings: dict[str, Any] = {}
    headers = provider.get("headers") or {}
    if not isinstance(headers, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise UsageError("provider headers: a dict of strings")
    if headers:
        settings["headers"] = dict(headers)
    wire = provider.get("wire_model") or provider.get("model_id") or ""
    if wire:
        settings["wire_model"] = str(wire)
    if provider.get("max_prompt_tokens"):
        settings["context_tokens"] = int(provider["max_prompt_tokens"])
    if provider.get("max_output_tokens"):
        settings["reply_tokens"] = int(provider["max_output_tokens"])
        settings["params"] = {"max_tokens": int(provider["max_output_tokens"])}
    key = str(provider.get("bearer_token") or provider.get("api_key") or "")
    return url, settings, key
