"""The one exception hierarchy of copilot-repl.

Every error the user can cause or meet is a ``ReplError``; anything else that
reaches the loop is a bug and is reported as such (with a hint to report it).

    ReplError                      one clear line for the user
    ├── UserError                  the user asked for something that cannot be done
    │   ├── UsageError             bad command, flag or argument
    │   │   ├── BadUsage           a bad command-line argument (exit status 2)
    │   │   └── InsecureTransport  an API key would go over plain http to another host
    │   ├── ConfigError            the config file is wrong (names file and line)
    │   ├── BadSessionName         a name that is not [A-Za-z0-9][A-Za-z0-9._-]{0,63}
    │   ├── SessionExists          :new / create_session of a name already taken
    │   ├── SessionNotFound        :switch / :rm / resume of a missing session
    │   ├── SessionChanged         another process changed the session meanwhile (nothing done)
    │   └── ImportFailed           a file to import is not understood (names file and what)
    ├── TurnFailed                 send_and_wait: the turn failed ("Session error: ...")
    ├── StoreError                 the data dir cannot be read or written
    └── ProviderError              talking to a model failed
        ├── AuthError              401 / 403
        ├── ModelNotFound          404 for the model
        ├── RateLimited            429 after the bounded retries
        ├── ServerError            5xx after the bounded retries, other HTTP errors
        ├── ConnectError           refused, DNS, connect timeout
        ├── StreamError            the stream broke, went silent or was malformed
        ├── ContextTooLong         the server says the prompt does not fit
        ├── LocalModelError        the embedded model server could not start or died
        └── CopilotError           the Copilot CLI or SDK failed
"""

from __future__ import annotations


class ReplError(Exception):
    """Base of every error shown to the user as one line."""


class UserError(ReplError):
    """The user asked for something that cannot be done."""


class UsageError(UserError):
    """A command, flag or argument is wrong."""


class InsecureTransport(UsageError):
    """An API key would be sent over plain http to another machine."""

    def __init__(self, host: str) -> None:
        super().__init__(
            f"refusing to send an API key over plain http to {host}; "
            "use https or pass --allow-insecure"
        )
        self.host = host


class ConfigError(UserError):
    """The configuration file cannot be used."""


class BadSessionName(UserError):
    """A session name that could be a path or is otherwise not allowed."""


class SessionExists(UserError):
    """A session with that name is already on disk."""


class SessionNotFound(UserError):
    """No session with that name."""


class SessionChanged(UserError):
    """Another process changed the session since this one read it: nothing
    was done (``:retry`` / ``:clear`` never delete what was not seen)."""


class ImportFailed(UserError):
    """``sessions import``: the file or folder is not in a format copilot-repl
    understands (the message names the file and what was not understood);
    nothing was imported."""


class TurnFailed(ReplError):
    """``send_and_wait``: the turn failed. The text starts "Session error: "
    as the SDK's plain Exception does; ``reason`` is the one-line cause."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"Session error: {reason}")
        self.reason = reason


class StoreError(ReplError):
    """The data directory could not be read or written."""


class ProviderError(ReplError):
    """A request to a model provider failed. ``status_code``: the HTTP status
    the provider answered with, when it answered with one."""

    def __init__(self, message: str = "", *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class AuthError(ProviderError):
    """The provider refused the credentials."""


class ModelNotFound(ProviderError):
    """The provider does not know the model."""


class RateLimited(ProviderError):
    """Too many requests, even after waiting."""


class ServerError(ProviderError):
    """The server answered with an error status."""


class ConnectError(ProviderError):
    """The server could not be reached."""


class StreamError(ProviderError):
    """The reply stream broke, went silent, or could not be understood."""


class ContextTooLong(ProviderError):
    """The prompt does not fit the model's context window."""


class LocalModelError(ProviderError):
    """The embedded local model server failed."""


class CopilotError(ProviderError):
    """The Copilot CLI or SDK failed, or reported an error for a turn."""


class BadUsage(UsageError):
    """A command-line argument is wrong (exit status 2)."""
