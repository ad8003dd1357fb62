"""Each setting declared once: its field (name, type, default) and, in the
field's metadata, what a config file may give it (``within(...)`` for a
number's range, ``URL`` for a base URL, ``NOT_IN_FILE`` for a field the file
cannot set). The tables the file is checked against are derived from here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from copilot_repl.errors import UsageError

APP = "copilot-repl"
HOME_ENV = "COPILOT_REPL_HOME"
LOCAL_MODEL = "local:smollm2"
EDITING_MODES = ("emacs", "vi")
MAX_SECONDS = 86_400.0


@dataclass(frozen=True)
class Range:
    """A number's bounds in a config file: at least ``low`` (above it when
    ``above``), at most ``high``; ``example`` the value the error shows
    (None: the field's default)."""

    low: float
    high: float
    example: float | None = None
    above: bool = False


NOT_IN_FILE: Mapping[str, Any] = {"in_file": False}  # set by code, never by a config file
URL: Mapping[str, Any] = {"url": True}  # an http(s) base URL (or empty)


def within(
    low: float, high: float, *, example: float | None = None, above: bool = False
) -> Mapping[str, Any]:
    """Field metadata: a number the config file gives between ``low`` and ``high``."""
    return {"range": Range(low, high, example, above)}


@dataclass(frozen=True)
class ProviderSettings:
    """How to reach one provider (``[providers.NAME]``)."""

    name: str = field(metadata=NOT_IN_FILE)
    kind: str = "openai"  # "openai" (any compatible HTTP API), "local" or "copilot"
    base_url: str = field(default="", metadata=URL)
    api_key_env: str = ""
    default_model: str = ""
    max_parallel: int = field(default=4, metadata=within(1, 1024))
    context_tokens: int = field(default=128_000, metadata=within(1, 100_000_000))
    reply_tokens: int = field(default=1024, metadata=within(1, 100_000_000))
    connect_timeout: float = field(default=10.0, metadata=within(0, MAX_SECONDS, above=True))
    # the longest silence once the reply flows
    read_timeout: float = field(default=60.0, metadata=within(0, MAX_SECONDS, above=True))
    # from the request to the first text
    first_token_timeout: float = field(default=120.0, metadata=within(0, MAX_SECONDS, above=True))
    # a longer reply is cut (and kept) there
    max_reply_chars: int = field(default=2_000_000, metadata=within(1, 1_000_000_000))
    max_retries: int = field(default=3, metadata=within(0, 100))
    params: Mapping[str, Any] = field(default_factory=dict)
    # sent with every request
    headers: Mapping[str, str] = field(default_factory=dict, metadata=NOT_IN_FILE)
    # the model name sent to the server, whatever the session's model
    wire_model: str = field(default="", metadata=NOT_IN_FILE)
    model_path: str = ""
    # local: llama.cpp threads (0: local.decode_threads, cpu_count)
    threads: int = field(default=0, metadata=within(0, 4096, example=4))
    cli_path: str = ""  # copilot: the `copilot` CLI to run
    # copilot: route through this OpenAI-compatible server
    byok_base_url: str = field(default="", metadata=URL)
    byok_type: str = "openai"
    byok_api_key_env: str = ""
    tools: bool = False  # copilot: let the model use the CLI's tools
    # the Copilot API's replies: consecutive assistant messages as choices 0, 1, ...
    merge_choices: bool = field(default=False, metadata=NOT_IN_FILE)


@dataclass(frozen=True)
class McpServerConfig:
    """An MCP server a session can take tools from (``[mcp.NAME]``)."""

    name: str = field(metadata=NOT_IN_FILE)
    command: str = ""  # stdio: the program, run with args
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # given to the child as they are
    pass_env: tuple[str, ...] = ()  # our variables the child may see (no others)
    url: str = ""  # streamable HTTP
    timeout: float = 60.0  # seconds a tool call may take


@dataclass(frozen=True)
class Role:
    """``[roles.NAME]``: a system prompt, a model and request params to start
    a session (or a one-shot) with; each optional."""

    name: str = field(metadata=NOT_IN_FILE)
    system: str = ""
    model: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """The resolved configuration for one run (the file's top-level settings
    and what the command line and the environment add)."""

    data_dir: Path = field(metadata=NOT_IN_FILE)
    config_path: Path | None = field(default=None, metadata=NOT_IN_FILE)
    model: str = ""
    system: str = ""
    providers: Mapping[str, ProviderSettings] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    allow_insecure: bool = field(default=False, metadata=NOT_IN_FILE)
    trash_days: float = 0.0  # purge trash items older than this at start-up (0: never)
    auto_compact: float = 0.0  # compact when a request would fill this much of the window
    summary_model: str = ""  # the model :compact asks ("" : the session's own)
    tool_timeout: float = 120.0  # seconds a tool call may run (a handler, an MCP call)
    # True: only --base-url / OPENAI_BASE_URL was given; the default model is
    # the first one that server lists (CopilotClient asks it once)
    discover_model: bool = field(default=False, metadata=NOT_IN_FILE)
    # "provider:model" -> (input, output) in US dollars per million tokens
    prices: Mapping[str, tuple[float, float]] = field(default_factory=dict)
    editing_mode: str = "emacs"  # the shell's keys: "emacs" or "vi"
    roles: Mapping[str, Role] = field(default_factory=dict)  # [roles.NAME]
    mcp: Mapping[str, McpServerConfig] = field(default_factory=dict)  # [mcp.NAME]

    def role(self, name: str) -> Role:
        try:
            return self.roles[name]
        except KeyError:
            known = ", ".join(sorted(self.roles)) or "none; add [roles.NAME] to the config"
            raise UsageError(f"unknown role {name!r} (known: {known})") from None

    def provider(self, name: str) -> ProviderSettings:
        try:
            return self.providers[name]
        except KeyError:
            known = ", ".join(sorted(self.providers))
            raise UsageError(f"unknown provider {name!r} (known: {known})") from None

    def resolve_model(self, spec: str) -> str:
        """Turn ``spec`` (alias, ``provider``, ``model`` or ``provider:model``) into
        the canonical ``provider:model``."""
        spec = spec.strip()
        if not spec:
            return self.model
        if spec in self.aliases:
            spec = self.aliases[spec]
        if ":" in spec:
            prov, _, model = spec.partition(":")
            provider = self.provider(prov)
            return f"{prov}:{model or provider.default_model}"
        if spec in self.providers:
            return f"{spec}:{self.providers[spec].default_model}"
        default_provider = self.model.partition(":")[0]
        return f"{default_provider}:{spec}"


BUILTIN_PROVIDERS: dict[str, ProviderSettings] = {
    "local": ProviderSettings(
        name="local",
        kind="local",
        default_model="smollm2",
        max_parallel=1,
        context_tokens=2048,
        reply_tokens=400,
        read_timeout=120.0,
        max_retries=0,
        params={"temperature": 0.7, "repeat_penalty": 1.1, "max_tokens": 400},
    ),
    "copilot": ProviderSettings(
        name="copilot",
        kind="copilot",
        default_model="claude-sonnet-4",
        max_retries=0,
    ),
    "openai": ProviderSettings(
        name="openai",
        base_url="https://api.openai.com/v1",
        api_key_env="OPENAI_API_KEY",
        default_model="gpt-4o-mini",
    ),
    "github": ProviderSettings(
        name="github",
        base_url="https://models.github.ai/inference",
        api_key_env="GITHUB_TOKEN",
        default_model="openai/gpt-4.1-mini",
    ),
    "ollama": ProviderSettings(
        name="ollama",
        base_url="http://127.0.0.1:11434/v1",
        default_model="llama3.2",
        context_tokens=8192,
    ),
}


def in_file(cls: type) -> tuple[Field[Any], ...]:
    """The fields of the dataclass ``cls`` that a config file may set."""
    return tuple(f for f in fields(cls) if f.metadata.get("in_file", True))


# What a config file's value of each annotation may be (a float setting takes 10 as 10.0).
_FILE_TYPES: dict[str, type | tuple[type, ...]] = {
    "str": str,
    "int": int,
    "float": (int, float),
    "bool": bool,
    "Mapping[str, Any]": dict,
}
# The tables a config file is checked against, derived from the fields above.
TOP_KEYS = frozenset(f.name for f in in_file(Config))
PROVIDER_KEYS: dict[str, type | tuple[type, ...]] = {
    f.name: _FILE_TYPES[str(f.type)] for f in in_file(ProviderSettings)
}


def _ranges() -> dict[str, Range]:
    out = {}
    for f in in_file(ProviderSettings):
        rng = f.metadata.get("range")
        if rng is not None:  # an error's example is the default unless the field names one
            out[f.name] = rng if rng.example is not None else replace(rng, example=f.default)
    return out


RANGES = _ranges()
URL_KEYS = tuple(f.name for f in in_file(ProviderSettings) if f.metadata.get("url"))
ROLE_KEYS = tuple(f.name for f in in_file(Role))
MCP_KEYS = frozenset(f.name for f in in_file(McpServerConfig))
