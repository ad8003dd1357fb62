"""Configuration: where state lives, the providers, the default model.

Read from a TOML file (standard library ``tomllib``)::

    model = "openai:gpt-4o-mini"          # default for new sessions
    system = "You are concise."           # default system prompt

    [providers.work]                      # any OpenAI-compatible server
    base_url = "http://127.0.0.1:8080/v1"
    api_key_env = "WORK_KEY"
    default_model = "qwen2.5"
    max_parallel = 4
    context_tokens = 32768
    read_timeout = 60                     # longest silence once the reply flows (s)
    first_token_timeout = 120             # from the request to the first text (s)
    max_reply_chars = 2000000             # a longer reply is cut there (and kept)

    [aliases]
    claude-sonnet-4 = "work:qwen2.5"

    [mcp.fs]                              # an MCP server (the [mcp] extra): stdio...
    command = "npx"
    args = ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]
    env = { LOG_LEVEL = "warn" }          # the child gets these (and PATH, HOME...)
    pass_env = ["GITHUB_TOKEN"]           # ...and these of ours, no other variable
    timeout = 60                          # seconds a call may take

    [mcp.web]                             # ...or streamable HTTP
    url = "http://127.0.0.1:9000/mcp"

Every value is checked when the file is loaded: an error names the file, the
line and the expected form (a misspelt setting gets "did you mean").
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from copilot_repl.errors import ConfigError, UsageError
from copilot_repl.sanitize import redact

APP = "copilot-repl"
HOME_ENV = "COPILOT_REPL_HOME"
LOCAL_MODEL = "local:smollm2"


@dataclass(frozen=True)
class ProviderConfig:
    """How to reach one provider."""

    name: str
    kind: str = "openai"  # "openai" (any compatible HTTP API), "local" or "copilot"
    base_url: str = ""
    api_key_env: str = ""
    default_model: str = ""
    max_parallel: int = 4
    context_tokens: int = 128_000
    reply_tokens: int = 1024
    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # the longest silence once the reply flows
    first_token_timeout: float = 120.0  # from the request to the first text
    max_reply_chars: int = 2_000_000  # a longer reply is cut (and kept) there
    max_retries: int = 3
    params: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # sent with every request
    wire_model: str = ""  # the model name sent to the server, whatever the session's model
    model_path: str = ""
    threads: int = 0  # local: llama.cpp threads (0: local.decode_threads, cpu_count)
    cli_path: str = ""  # copilot: the `copilot` CLI to run
    byok_base_url: str = ""  # copilot: route through this OpenAI-compatible server
    byok_type: str = "openai"
    byok_api_key_env: str = ""
    tools: bool = False  # copilot: let the model use the CLI's tools


@dataclass(frozen=True)
class McpServerConfig:
    """An MCP server a session can take tools from (``[mcp.NAME]``)."""

    name: str
    command: str = ""  # stdio: the program, run with args
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)  # given to the child as they are
    pass_env: tuple[str, ...] = ()  # our variables the child may see (no others)
    url: str = ""  # streamable HTTP
    timeout: float = 60.0  # seconds a tool call may take


BUILTIN_PROVIDERS: dict[str, ProviderConfig] = {
    "local": ProviderConfig(
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
    "copilot": ProviderConfig(
        name="copilot",
        kind="copilot",
        default_model="claude-sonnet-4",
        max_retries=0,
    ),
    "openai": ProviderConfig(
        name="openai",
        base_url="https://api.openai.com/v1",
        api_key_env="OPENAI_API_KEY",
        default_model="gpt-4o-mini",
    ),
    "github": ProviderConfig(
        name="github",
        base_url="https://models.github.ai/inference",
        api_key_env="GITHUB_TOKEN",
        default_model="openai/gpt-4.1-mini",
    ),
    "ollama": ProviderConfig(
        name="ollama",
        base_url="http://127.0.0.1:11434/v1",
        default_model="llama3.2",
        context_tokens=8192,
    ),
}

_PROVIDER_KEYS: dict[str, type | tuple[type, ...]] = {
    "kind": str,
    "base_url": str,
    "api_key_env": str,
    "default_model": str,
    "max_parallel": int,
    "context_tokens": int,
    "reply_tokens": int,
    "connect_timeout": (int, float),
    "read_timeout": (int, float),
    "first_token_timeout": (int, float),
    "max_reply_chars": int,
    "max_retries": int,
    "params": dict,
    "model_path": str,
    "threads": int,
    "cli_path": str,
    "byok_base_url": str,
    "byok_type": str,
    "byok_api_key_env": str,
    "tools": bool,
}
_TOP_KEYS = {
    "model",
    "system",
    "providers",
    "aliases",
    "trash_days",
    "auto_compact",
    "summary_model",
    "prices",
    "editing_mode",
    "roles",
    "mcp",
}
EDITING_MODES = ("emacs", "vi")
_ROLE_KEYS = ("system", "model", "params")
MAX_SECONDS = 86_400.0
# Numeric settings: (lowest, highest, an example of the right form).
_RANGES: dict[str, tuple[float, float, str]] = {
    "connect_timeout": (0.0, MAX_SECONDS, "connect_timeout = 10"),
    "read_timeout": (0.0, MAX_SECONDS, "read_timeout = 60"),
    "first_token_timeout": (0.0, MAX_SECONDS, "first_token_timeout = 120"),
    "max_parallel": (1, 1024, "max_parallel = 4"),
    "context_tokens": (1, 100_000_000, "context_tokens = 128000"),
    "reply_tokens": (1, 100_000_000, "reply_tokens = 1024"),
    "max_retries": (0, 100, "max_retries = 3"),
    "max_reply_chars": (1, 1_000_000_000, "max_reply_chars = 2000000"),
    "threads": (0, 4096, "threads = 4"),
}
_OPEN_BELOW = {"connect_timeout", "read_timeout", "first_token_timeout"}  # > 0, not >= 0
_URL_KEYS = ("base_url", "byok_base_url")
# What copilot-repl itself sets in a request: params cannot change it.
_RESERVED_PARAMS = ("model", "messages", "stream", "stream_options")
_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "a table",
    list: "an array",
}
_MAX_DEPTH = 32


def url_problem(url: str) -> str:
    """What is wrong with ``url`` as a base URL ("" if nothing)."""
    from urllib.parse import urlsplit

    if any(c.isspace() or not c.isprintable() for c in url):
        return "contains a space or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        return f"is not a valid URL ({str(exc).lower()})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not host:
        return "has no host name"
    if port == 0:
        return "has port 0 (a port is 1 to 65535)"
    return ""


def _type_name(value: object) -> str:
    kind = next((t for t in (bool, int, float, str, dict, list) if isinstance(value, t)), None)
    return _TYPE_NAMES[kind] if kind is not None else "a date or time"


def _expected(want: type | tuple[type, ...]) -> str:
    if isinstance(want, tuple):
        return "a number"
    return _TYPE_NAMES[want]


def _did_you_mean(key: str, known: Iterable[str]) -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


@dataclass(frozen=True)
class Role:
    """``[roles.NAME]``: a system prompt, a model and request params to start
    a session (or a one-shot) with; each optional."""

    name: str
    system: str = ""
    model: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Config:
    """The resolved configuration for one run."""

    data_dir: Path
    config_path: Path | None = None
    model: str = ""
    system: str = ""
    providers: Mapping[str, ProviderConfig] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)
    allow_insecure: bool = False
    trash_days: float = 0.0  # purge trash items older than this at start-up (0: never)
    auto_compact: float = 0.0  # compact when a request would fill this much of the window
    summary_model: str = ""  # the model :compact asks ("" : the session's own)
    # True: only --base-url / OPENAI_BASE_URL was given; the default model is
    # the first one that server lists (CopilotClient asks it once)
    discover_model: bool = False
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

    def provider(self, name: str) -> ProviderConfig:
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


def default_data_dir(env: Mapping[str, str]) -> Path:
    if env.get(HOME_ENV):
        return Path(env[HOME_ENV]).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP))


def default_config_path(env: Mapping[str, str], data_dir_given: Path | None) -> Path:
    home = data_dir_given or (Path(env[HOME_ENV]).expanduser() if env.get(HOME_ENV) else None)
    if home is not None:
        return home / "config.toml"
    import platformdirs

    return Path(platformdirs.user_config_dir(APP)) / "config.toml"


def load_config(
    *,
    env: Mapping[str, str] | None = None,
    data_dir: str | Path | None = None,
    config_path: str | Path | None = None,
    model: str | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    allow_insecure: bool = False,
) -> Config:
    """Build the configuration from the file, the environment and the flags."""
    env = os.environ if env is None else env
    given = Path(data_dir).expanduser() if data_dir else None
    ddir = given or default_data_dir(env)
    explicit = config_path is not None
    path = (
        Path(config_path).expanduser()
        if config_path is not None
        else default_config_path(env, given)
    )
    raw: dict[str, Any] = {}
    found = _exists(path)
    if found or explicit:
        raw = _read_toml(path)
    providers = dict(BUILTIN_PROVIDERS)
    providers.update(_parse_providers(raw.get("providers", {}), path))
    openai_url = base_url or env.get("OPENAI_BASE_URL")
    if openai_url and url_problem(openai_url):
        source = "--base-url" if base_url else "OPENAI_BASE_URL"
        raise ConfigError(
            f"{source} {redact(openai_url)!r} {url_problem(openai_url)} (e.g. https://host:8080/v1)"
        )
    if openai_url or api_key_env:
        old = providers["openai"]
        providers["openai"] = replace(
            old, base_url=openai_url or old.base_url, api_key_env=api_key_env or old.api_key_env
        )
    aliases = _parse_aliases(raw.get("aliases", {}), path)
    default = str(raw.get("model", "")) or _implicit_default(env, openai_url, providers)
    cfg = Config(
        data_dir=ddir,
        config_path=path if found else None,
        system=str(raw.get("system", "")),
        providers=providers,
        aliases=aliases,
        allow_insecure=allow_insecure,
        model=LOCAL_MODEL,
        **_library_settings(raw, path),
    )
    cfg = replace(cfg, model=_checked_model(cfg, default, path, "model"))
    named_server = "openai" not in raw.get("providers", {})
    if base_url and cfg.model.partition(":")[0] != "openai":
        # an endpoint on the command line wins over the config's model: its
        # server answers (a bare --model NAME is one of its models)
        cfg = replace(cfg, model=cfg.resolve_model("openai"), discover_model=named_server)
    if model:
        cfg = replace(cfg, model=cfg.resolve_model(model), discover_model=False)
    elif openai_url and not raw.get("model") and named_server:
        # only a server was named: its own first model beats our guess
        cfg = replace(cfg, discover_model=True)
    return cfg


def _exists(path: Path) -> bool:
    """Whether the config file is there; a place that cannot even be looked
    at (a data dir we may not enter, a name too long) is one line, exit 2."""
    try:
        return path.exists()
    except OSError as exc:
        raise ConfigError(
            f"cannot look for the config file {path}: {exc.strerror or exc}; "
            "check --data-dir / COPILOT_REPL_HOME"
        ) from None


def _library_settings(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """``trash_days`` (>= 0), ``auto_compact`` (0, or more than 0 and below 1)
    and ``summary_model``."""
    out: dict[str, Any] = {}
    for key in ("trash_days", "auto_compact"):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"{_where(path, key)}: {key!r} must be a number, 0 or more")
            out[key] = float(value)
    if not out.get("auto_compact", 0.0) < 1:
        raise ConfigError(
            f"{_where(path, 'auto_compact')}: 'auto_compact' is a fraction of the context "
            "window, e.g. 0.8 (0: off)"
        )
    if "summary_model" in raw:
        if not isinstance(raw["summary_model"], str):
            raise ConfigError(f"{_where(path, 'summary_model')}: 'summary_model' must be a string")
        out["summary_model"] = raw["summary_model"]
    if "prices" in raw:
        out["prices"] = _parse_prices(raw["prices"], path)
    if "editing_mode" in raw:
        if raw["editing_mode"] not in EDITING_MODES:
            raise ConfigError(
                f'{_where(path, "editing_mode")}: editing_mode is "emacs" or "vi", '
                f"not {raw['editing_mode']!r}"
            )
        out["editing_mode"] = raw["editing_mode"]
    if "roles" in raw:
        out["roles"] = _parse_roles(raw["roles"], path)
    if "mcp" in raw:
        out["mcp"] = _parse_mcp(raw["mcp"], path)
    return out


def _parse_mcp(raw: Any, path: Path) -> dict[str, McpServerConfig]:
    """``[mcp.NAME]``: ``command`` (with ``args``, ``env``, ``pass_env``) or ``url``."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(path, 'mcp')}: [mcp] must hold tables, e.g. [mcp.fs]")
    out: dict[str, McpServerConfig] = {}
    for name, table in raw.items():
        where = _where(path, name, "mcp")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,32}", name):
            raise ConfigError(f"{where}: an MCP server name is letters, digits and _ (at most 32)")
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [mcp.{name}] must be a table")
        unknown = sorted(set(table) - {"command", "args", "env", "pass_env", "url", "timeout"})
        if unknown:
            raise ConfigError(f"{where}: unknown setting {unknown[0]!r} in [mcp.{name}]")
        command, url = table.get("command", ""), table.get("url", "")
        args, env, pass_env = table.get("args", []), table.get("env", {}), table.get("pass_env", [])
        timeout = table.get("timeout", 60.0)
        ok = (
            isinstance(command, str)
            and isinstance(url, str)
            and bool(command) != bool(url)
            and isinstance(args, list)
            and all(isinstance(a, str) for a in args)
            and isinstance(env, dict)
            and all(isinstance(v, str) for v in env.values())
            and isinstance(pass_env, list)
            and all(isinstance(v, str) for v in pass_env)
            and isinstance(timeout, int | float)
            and not isinstance(timeout, bool)
            and 0 < timeout <= MAX_SECONDS
        )
        if not ok:
            raise ConfigError(
                f'{where}: [mcp.{name}] needs command = "program" (with args = [...], '
                'env = {...}, pass_env = [...]) or url = "http://...", and timeout in seconds'
            )
        if url and url_problem(url):
            raise ConfigError(f"{where}: url {redact(url)!r} {url_problem(url)}")
        out[name] = McpServerConfig(
            name, command, tuple(args), dict(env), tuple(pass_env), url, float(timeout)
        )
    return out


def _parse_roles(raw: Any, path: Path) -> dict[str, Role]:
    """``[roles.NAME]``: ``system``, ``model``, ``params`` (as a provider's)."""
    example = '[roles.reviewer]\nsystem = "You review code tersely."\nmodel = "openai:gpt-4o"'
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(path, 'roles')}: roles are tables, e.g. {example}")
    out: dict[str, Role] = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{_where(path, name, 'roles')}: a role is a table, e.g. {example}")
        for key, value in table.items():
            if key not in _ROLE_KEYS:
                raise ConfigError(
                    f"{_where(path, key, 'roles.' + name)}: unknown role setting {key!r}"
                    f"{_did_you_mean(key, _ROLE_KEYS)} (a role has {', '.join(_ROLE_KEYS)})"
                )
            want: type = dict if key == "params" else str
            if not isinstance(value, want):
                raise ConfigError(
                    f"{_where(path, key, 'roles.' + name)}: {key!r} must be {_expected(want)}"
                )
        problem = _params_problem(table.get("params", {}))
        if problem:
            raise ConfigError(f"{_where(path, 'params', 'roles.' + name)}: {problem}")
        out[name] = Role(
            name, table.get("system", ""), table.get("model", ""), table.get("params", {})
        )
    return out


def _parse_prices(raw: Any, path: Path) -> dict[str, tuple[float, float]]:
    """``[prices]``: ``"provider:model" = [input, output]``, dollars per
    million tokens (the cost figure of each reply)."""
    example = '"openai:gpt-4o-mini" = [0.15, 0.60]'
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(path, 'prices')}: [prices] must be a table, e.g. {example}")
    out: dict[str, tuple[float, float]] = {}
    for model, pair in raw.items():
        ok = (
            isinstance(pair, list)
            and len(pair) == 2
            and all(
                isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v < 1e6
                for v in pair
            )
        )
        if not ok or ":" not in model:
            raise ConfigError(
                f"{_where(path, model, 'prices')}: prices are "
                f'"provider:model" = [input, output] in dollars per million tokens, '
                f"e.g. {example}"
            )
        out[model] = (float(pair[0]), float(pair[1]))
    return out


def _implicit_default(
    env: Mapping[str, str], openai_url: str | None, providers: Mapping[str, ProviderConfig]
) -> str:
    if openai_url or env.get("OPENAI_API_KEY"):
        return f"openai:{providers['openai'].default_model}"
    return LOCAL_MODEL


def _checked_model(cfg: Config, spec: str, path: Path, key: str) -> str:
    try:
        return cfg.resolve_model(spec)
    except UsageError as exc:
        raise ConfigError(f"{_where(path, key)}: {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    import tomllib

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    unknown = set(data) - _TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        hint = (
            " (it belongs in a [providers.NAME] table)"
            if key in _PROVIDER_KEYS
            else _did_you_mean(key, _TOP_KEYS)
        )
        raise ConfigError(f"{_where(path, key)}: unknown setting {key!r}{hint}")
    for key in ("model", "system"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(
                f"{_where(path, key)}: {key!r} must be a string, not {_type_name(data[key])}"
            )
    return data


def _where(path: Path, key: str, table: str = "") -> str:
    """``file, line N`` for the first line that sets ``key`` (inside the
    ``[table]`` section when it has one), best effort."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return f"config file {path}"
    pat = re.compile(rf"^\s*(\[[^\]]*)?{re.escape(key)}\b")
    for i in _section(lines, table):
        if pat.search(lines[i]):
            return f"config file {path}, line {i + 1}"
    return f"config file {path}"


def _section(lines: list[str], table: str) -> range:
    """Indexes of the lines of the ``[table]`` section (all lines if not found)."""
    header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
    start = next((i for i, line in enumerate(lines) if table and header.match(line)), None)
    if start is None:
        return range(len(lines))
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
        len(lines),
    )
    return range(start, end)


def _parse_providers(raw: Any, path: Path) -> dict[str, ProviderConfig]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{_where(path, 'providers')}: [providers] must be a table")
    out: dict[str, ProviderConfig] = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{_where(path, name)}: [providers.{name}] must be a table")
        base = BUILTIN_PROVIDERS.get(name, ProviderConfig(name=name))
        out[name] = replace(base, **_provider_fields(name, table, path))
        if out[name].kind not in ("openai", "local", "copilot"):
            where = _where(path, "kind", f"providers.{name}")
            raise ConfigError(f"{where}: kind must be 'openai', 'local' or 'copilot'")
        if out[name].kind == "openai" and not out[name].base_url:
            raise ConfigError(f"{_where(path, name)}: [providers.{name}] needs base_url")
    return out


def _provider_fields(name: str, table: dict[str, Any], path: Path) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    section = f"providers.{name}"
    for key, value in table.items():
        want = _PROVIDER_KEYS.get(key)
        if want is None:
            where = _where(path, key, section)
            hint = _did_you_mean(key, _PROVIDER_KEYS)
            raise ConfigError(f"{where}: unknown setting {key!r} in [{section}]{hint}")
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            raise ConfigError(
                f"{_where(path, key, section)}: {key!r} has the wrong type: expected "
                f"{_expected(want)}, not {_type_name(value)}"
            )
        problem = _value_problem(key, value)
        if problem:
            raise ConfigError(f"{_where(path, key, section)}: {problem}")
        fields[key] = value
    return fields


def _value_problem(key: str, value: Any) -> str:
    """What is wrong with a setting of the right type ("" if nothing)."""
    if key in _RANGES:
        low, high, example = _RANGES[key]
        above = value > low if key in _OPEN_BELOW else value >= low
        if not (math.isfinite(value) and above and value <= high):
            bound = f"above {low:g}" if key in _OPEN_BELOW else f"at least {low:g}"
            return (
                f"{key} = {value!r}: expected a number {bound} and at most {high:g} "
                f"(e.g. {example})"
            )
    if key in _URL_KEYS and value:
        problem = url_problem(value)
        if problem:
            shown = redact(value)
            return f'{key} {shown!r} {problem} (e.g. {key} = "https://host:8080/v1")'
    if key == "params":
        return _params_problem(value)
    return ""


def request_option(text: str) -> tuple[str, Any]:
    """``-o KEY=VALUE`` as llm spells it: VALUE read as JSON when it is
    (``0.2``, ``400``, ``true``, ``[1, 2]``), else as a string."""
    import json

    key, eq, value = text.partition("=")
    key = key.strip()
    if not eq or not key:
        raise UsageError(f"-o takes KEY=VALUE (e.g. -o temperature=0.2), not {text!r}")
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    problem = _params_problem({key: parsed})
    if problem:
        raise UsageError(f"-o {text}: {problem}")
    return key, parsed


def with_request_options(cfg: Config, options: Mapping[str, Any]) -> Config:
    """``cfg`` with ``options`` added to every provider's ``params`` (sent
    with every request of this run; saved nowhere)."""
    if not options:
        return cfg
    providers = {
        name: replace(pc, params={**pc.params, **options}) for name, pc in cfg.providers.items()
    }
    return replace(cfg, providers=providers)


def _params_problem(params: dict[str, Any]) -> str:
    for key in _RESERVED_PARAMS:
        if key in params:
            return f"params cannot set {key!r} (copilot-repl sets it)"
    bad = _json_problem(params, "params", 0)
    return (
        f"{bad}: params are sent as JSON (strings, numbers, true/false, arrays, tables)"
        if bad
        else ""
    )


def _json_problem(value: Any, where: str, depth: int) -> str:
    """The first part of ``value`` that cannot be sent as JSON ("" if none)."""
    if depth > _MAX_DEPTH:
        return f"{where} is nested too deep"
    if isinstance(value, dict):
        for k, v in value.items():
            problem = _json_problem(v, f"{where}.{k}", depth + 1)
            if problem:
                return problem
        return ""
    if isinstance(value, list):
        for i, v in enumerate(value):
            problem = _json_problem(v, f"{where}[{i}]", depth + 1)
            if problem:
                return problem
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} = {value!r} is not a finite number"
    if isinstance(value, str | int | float | bool):
        return ""
    return f"{where} is {_type_name(value)}"


def _parse_aliases(raw: Any, path: Path) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(f"{_where(path, 'aliases')}: [aliases] maps names to 'provider:model'")
    return dict(raw)
