"""The configuration of one run: the file, the environment and the flags, in
that order of strength."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from copilot_repl.config.file import exists, read_toml, where
from copilot_repl.config.settings import (
    APP,
    BUILTIN_PROVIDERS,
    HOME_ENV,
    LOCAL_MODEL,
    Config,
    ProviderSettings,
)
from copilot_repl.config.tables import library_settings, parse_aliases, parse_providers
from copilot_repl.config.values import url_problem
from copilot_repl.errors import ConfigError, UsageError
from copilot_repl.sanitize import redact


def default_data_dir(env: Mapping[str, str]) -> Path:
    if env.get(HOME_ENV):
        return Path(env[HOME_ENV]).expanduser()
    import platformdirs  # start-up: ~6 ms, not needed when COPILOT_REPL_HOME is set

    return Path(platformdirs.user_data_dir(APP))


def default_config_path(env: Mapping[str, str], data_dir_given: Path | None) -> Path:
    home = data_dir_given or (Path(env[HOME_ENV]).expanduser() if env.get(HOME_ENV) else None)
    if home is not None:
        return home / "config.toml"
    import platformdirs  # start-up: ~6 ms, not needed when COPILOT_REPL_HOME is set

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
    found = exists(path)
    if found or explicit:
        raw = read_toml(path)
    providers = dict(BUILTIN_PROVIDERS)
    providers.update(parse_providers(raw.get("providers", {}), path))
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
    aliases = parse_aliases(raw.get("aliases", {}), path)
    default = str(raw.get("model", "")) or _implicit_default(env, openai_url, providers)
    cfg = Config(
        data_dir=ddir,
        config_path=path if found else None,
        system=str(raw.get("system", "")),
        providers=providers,
        aliases=aliases,
        allow_insecure=allow_insecure,
        model=LOCAL_MODEL,
        **library_settings(raw, path),
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


def with_request_options(cfg: Config, options: Mapping[str, Any]) -> Config:
    """``cfg`` with ``options`` added to every provider's ``params`` (sent
    with every request of this run; saved nowhere)."""
    if not options:
        return cfg
    providers = {
        name: replace(pc, params={**pc.params, **options}) for name, pc in cfg.providers.items()
    }
    return replace(cfg, providers=providers)


def _implicit_default(
    env: Mapping[str, str], openai_url: str | None, providers: Mapping[str, ProviderSettings]
) -> str:
    if openai_url or env.get("OPENAI_API_KEY"):
        return f"openai:{providers['openai'].default_model}"
    return LOCAL_MODEL


def _checked_model(cfg: Config, spec: str, path: Path, key: str) -> str:
    try:
        return cfg.resolve_model(spec)
    except UsageError as exc:
        raise ConfigError(f"{where(path, key)}: {exc}") from None
