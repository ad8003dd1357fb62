"""Configuration: where state lives, the providers, the default model.

Read from a TOML file (standard library ``tomllib``)::

    model = "openai:gpt-4o-mini"          # default for new sessions
    system = "You are concise."           # default system prompt
    tool_timeout = 120                    # seconds a tool call may run (then it fails)

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

The package: ``settings.py`` declares each setting once (the tables the file
is checked against are derived from it), ``file.py`` reads the file and finds
a setting's line, ``values.py`` checks one value, ``tables.py`` reads each
table, ``load.py`` puts the file, the environment and the flags together.
"""

from copilot_repl.config.load import (
    default_config_path,
    default_data_dir,
    load_config,
    with_request_options,
)
from copilot_repl.config.settings import (
    APP,
    BUILTIN_PROVIDERS,
    EDITING_MODES,
    HOME_ENV,
    LOCAL_MODEL,
    MAX_SECONDS,
    Config,
    McpServerConfig,
    ProviderSettings,
    Role,
)
from copilot_repl.config.values import request_option, url_problem

__all__ = [
    "APP",
    "BUILTIN_PROVIDERS",
    "EDITING_MODES",
    "HOME_ENV",
    "LOCAL_MODEL",
    "MAX_SECONDS",
    "Config",
    "McpServerConfig",
    "ProviderSettings",
    "Role",
    "default_config_path",
    "default_data_dir",
    "load_config",
    "request_option",
    "url_problem",
    "with_request_options",
]
