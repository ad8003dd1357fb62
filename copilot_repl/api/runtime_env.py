"""What the SDK's runtime (the ``copilot`` CLI) reads from the environment the
client gives it, honoured the same way by a library client (one made without
a front end's ``Config``):

- ``COPILOT_API_URL``: the Copilot API the models come from. The CLI sends
  its chat requests there (``/chat/completions``, the OpenAI wire format) with
  the GitHub token as the bearer key; so does copilot_repl, through a provider
  named ``copilot-api`` that becomes the default, its default model the first
  one the server's ``/models`` lists. The token: the client's
  ``github_token``, else ``COPILOT_GITHUB_TOKEN``, ``GH_TOKEN``,
  ``GITHUB_TOKEN``, as the CLI looks for it.
- ``COPILOT_HOME``: where the runtime keeps its sessions; given in the
  client's ``env``, copilot_repl keeps its sessions in ``COPILOT_HOME/copilot-repl``
  (``COPILOT_REPL_HOME`` still wins). Only from an ``env`` given to the
  client: a ``COPILOT_HOME`` of the process itself would hide the shell's
  sessions from library code run in the same terminal.

With ``COPILOT_API_URL``, the default system prompt is the Copilot identity
the CLI's own prompt opens with (``system_message`` appends to it, or
replaces it, as on the SDK).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from copilot_repl.config import HOME_ENV, Config, ProviderSettings, url_problem
from copilot_repl.errors import ConfigError

PROVIDER = "copilot-api"
DEFAULT_MODEL = "claude-sonnet-4.5"  # the CLI's, when the server lists no models
TOKEN_ENVS = ("COPILOT_GITHUB_TOKEN", "GH_TOKEN", "GITHUB_TOKEN")
KEY_ENV = "COPILOT_REPL_COPILOT_API_KEY"  # where the token is handed to the provider
SYSTEM = (
    "You are GitHub Copilot, an AI assistant built by GitHub. "
    "Answer the user's questions helpfully and concisely."
)


def data_dir(given_env: Mapping[str, str] | None) -> Path | None:
    """The data dir an explicitly given ``env`` names through ``COPILOT_HOME``
    (None: the usual one)."""
    if given_env is None or given_env.get(HOME_ENV) or not given_env.get("COPILOT_HOME"):
        return None
    return Path(given_env["COPILOT_HOME"]).expanduser() / "copilot-repl"


def token(env: Mapping[str, str], github_token: object) -> str:
    if isinstance(github_token, str) and github_token:
        return github_token
    return next((env[name] for name in TOKEN_ENVS if env.get(name)), "")


def apply(config: Config, env: Mapping[str, str], key: str) -> Config:
    """``config`` with the Copilot API of ``COPILOT_API_URL`` as the default
    provider (unchanged without it)."""
    url = env.get("COPILOT_API_URL", "").rstrip("/")
    if not url:
        return config
    problem = url_problem(url)
    if problem:
        raise ConfigError(f"COPILOT_API_URL {url!r} {problem}")
    pc = ProviderSettings(
        name=PROVIDER,
        base_url=url,
        api_key_env=KEY_ENV if key else "",
        default_model=DEFAULT_MODEL,
        merge_choices=True,  # as the CLI reads the Copilot API's replies
    )
    return replace(
        config,
        providers={**config.providers, PROVIDER: pc},
        model=f"{PROVIDER}:{DEFAULT_MODEL}",
        discover_model=True,
        system=config.system or SYSTEM,
    )
