"""The config file's tables, each checked as it is read: ``[providers.NAME]``,
``[roles.NAME]``, ``[mcp.NAME]``, ``[prices]``, ``[aliases]`` and the
library's top-level settings."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from copilot_repl.config.file import did_you_mean, expected, type_name, where
from copilot_repl.config.settings import (
    BUILTIN_PROVIDERS,
    EDITING_MODES,
    MAX_SECONDS,
    MCP_KEYS,
    PROVIDER_KEYS,
    ROLE_KEYS,
    McpServerConfig,
    ProviderSettings,
    Role,
)
from copilot_repl.config.values import params_problem, url_problem, value_problem
from copilot_repl.errors import ConfigError
from copilot_repl.sanitize import redact


def parse_providers(raw: Any, path: Path) -> dict[str, ProviderSettings]:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where(path, 'providers')}: [providers] must be a table")
    out: dict[str, ProviderSettings] = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where(path, name)}: [providers.{name}] must be a table")
        base = BUILTIN_PROVIDERS.get(name, ProviderSettings(name=name))
        out[name] = replace(base, **_provider_fields(name, table, path))
        if out[name].kind not in ("openai", "local", "copilot"):
            at = where(path, "kind", f"providers.{name}")
            raise ConfigError(f"{at}: kind must be 'openai', 'local' or 'copilot'")
        if out[name].kind == "openai" and not out[name].base_url:
            raise ConfigError(f"{where(path, name)}: [providers.{name}] needs base_url")
    return out


def _provider_fields(name: str, table: dict[str, Any], path: Path) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    section = f"providers.{name}"
    for key, value in table.items():
        want = PROVIDER_KEYS.get(key)
        if want is None:
            at = where(path, key, section)
            hint = did_you_mean(key, PROVIDER_KEYS)
            raise ConfigError(f"{at}: unknown setting {key!r} in [{section}]{hint}")
        if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
            raise ConfigError(
                f"{where(path, key, section)}: {key!r} has the wrong type: expected "
                f"{expected(want)}, not {type_name(value)}"
            )
        problem = value_problem(key, value)
        if problem:
            raise ConfigError(f"{where(path, key, section)}: {problem}")
        fields[key] = value
    return fields


def library_settings(raw: dict[str, Any], path: Path) -> dict[str, Any]:
    """``trash_days`` (>= 0), ``auto_compact`` (0, or more than 0 and below 1),
    ``tool_timeout`` (> 0), ``summary_model``, ``editing_mode`` and the ``prices``,
    ``roles`` and ``mcp`` tables."""
    out: dict[str, Any] = {}
    for key in ("trash_days", "auto_compact"):
        if key in raw:
            value = raw[key]
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"{where(path, key)}: {key!r} must be a number, 0 or more")
            out[key] = float(value)
    if not out.get("auto_compact", 0.0) < 1:
        raise ConfigError(
            f"{where(path, 'auto_compact')}: 'auto_compact' is a fraction of the context "
            "window, e.g. 0.8 (0: off)"
        )
    if "tool_timeout" in raw:
        value = raw["tool_timeout"]
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not 0 < value <= MAX_SECONDS
        ):
            raise ConfigError(
                f"{where(path, 'tool_timeout')}: 'tool_timeout' is seconds, more than 0 "
                "(tool_timeout = 120)"
            )
        out["tool_timeout"] = float(value)
    if "summary_model" in raw:
        if not isinstance(raw["summary_model"], str):
            raise ConfigError(f"{where(path, 'summary_model')}: 'summary_model' must be a string")
        out["summary_model"] = raw["summary_model"]
    if "prices" in raw:
        out["prices"] = _parse_prices(raw["prices"], path)
    if "editing_mode" in raw:
        if raw["editing_mode"] not in EDITING_MODES:
            raise ConfigError(
                f'{where(path, "editing_mode")}: editing_mode is "emacs" or "vi", '
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
        raise ConfigError(f"{where(path, 'mcp')}: [mcp] must hold tables, e.g. [mcp.fs]")
    out: dict[str, McpServerConfig] = {}
    for name, table in raw.items():
        at = where(path, name, "mcp")
        if not re.fullmatch(r"[A-Za-z0-9_]{1,32}", name):
            raise ConfigError(f"{at}: an MCP server name is letters, digits and _ (at most 32)")
        if not isinstance(table, dict):
            raise ConfigError(f"{at}: [mcp.{name}] must be a table")
        unknown = sorted(set(table) - MCP_KEYS)
        if unknown:
            raise ConfigError(f"{at}: unknown setting {unknown[0]!r} in [mcp.{name}]")
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
                f'{at}: [mcp.{name}] needs command = "program" (with args = [...], '
                'env = {...}, pass_env = [...]) or url = "http://...", and timeout in seconds'
            )
        if url and url_problem(url):
            raise ConfigError(f"{at}: url {redact(url)!r} {url_problem(url)}")
        out[name] = McpServerConfig(
            name, command, tuple(args), dict(env), tuple(pass_env), url, float(timeout)
        )
    return out


def _parse_roles(raw: Any, path: Path) -> dict[str, Role]:
    """``[roles.NAME]``: ``system``, ``model``, ``params`` (as a provider's)."""
    example = '[roles.reviewer]\nsystem = "You review code tersely."\nmodel = "openai:gpt-4o"'
    if not isinstance(raw, dict):
        raise ConfigError(f"{where(path, 'roles')}: roles are tables, e.g. {example}")
    out: dict[str, Role] = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where(path, name, 'roles')}: a role is a table, e.g. {example}")
        for key, value in table.items():
            if key not in ROLE_KEYS:
                raise ConfigError(
                    f"{where(path, key, 'roles.' + name)}: unknown role setting {key!r}"
                    f"{did_you_mean(key, ROLE_KEYS)} (a role has {', '.join(ROLE_KEYS)})"
                )
            want: type = dict if key == "params" else str
            if not isinstance(value, want):
                raise ConfigError(
                    f"{where(path, key, 'roles.' + name)}: {key!r} must be {expected(want)}"
                )
        problem = params_problem(table.get("params", {}))
        if problem:
            raise ConfigError(f"{where(path, 'params', 'roles.' + name)}: {problem}")
        out[name] = Role(
            name, table.get("system", ""), table.get("model", ""), table.get("params", {})
        )
    return out


def _parse_prices(raw: Any, path: Path) -> dict[str, tuple[float, float]]:
    """``[prices]``: ``"provider:model" = [input, output]``, dollars per
    million tokens (the cost figure of each reply)."""
    example = '"openai:gpt-4o-mini" = [0.15, 0.60]'
    if not isinstance(raw, dict):
        raise ConfigError(f"{where(path, 'prices')}: [prices] must be a table, e.g. {example}")
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
                f"{where(path, model, 'prices')}: prices are "
                f'"provider:model" = [input, output] in dollars per million tokens, '
                f"e.g. {example}"
            )
        out[model] = (float(pair[0]), float(pair[1]))
    return out


def parse_aliases(raw: Any, path: Path) -> dict[str, str]:
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise ConfigError(f"{where(path, 'aliases')}: [aliases] maps names to 'provider:model'")
    return dict(raw)
