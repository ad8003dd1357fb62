"""``CopilotClient``: creates, resumes, lists and deletes sessions, in the
shape of the Copilot SDK's client; owns the providers.

    client = CopilotClient()
    await client.start()
    session = await client.create_session(session_id="work", model="gpt-4.1")
    reply = await session.send_and_wait("Hello")
    print(reply.data.content)
    await client.stop()

The interactive shell and script mode are front ends over this class.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import inspect
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from copilot_repl._version import __version__
from copilot_repl.api import runtime_env
from copilot_repl.api.events import (
    PRODUCER,
    SessionEvent,
    SessionEventType,
    SessionResumeData,
    SessionStartData,
)
from copilot_repl.api.generated_options import CLIENT_OPTIONS as SDK_CLIENT_OPTIONS
from copilot_repl.api.metadata import (
    GetAuthStatusResponse,
    GetStatusResponse,
    ModelCapabilities,
    ModelInfo,
    ModelLimits,
    PingResponse,
    SessionContext,
    SessionLifecycleEvent,
    SessionListFilter,
    SessionMetadata,
)
from copilot_repl.api.options import (
    byok_config,
    check_session_options,
    merged,
    settings_from,
    system_text,
)
from copilot_repl.api.session import CopilotSession
from copilot_repl.config import Config, ProviderSettings, load_config
from copilot_repl.errors import ReplError, SessionExists, SessionNotFound, UsageError
from copilot_repl.history.messages import SessionData
from copilot_repl.history.names import free_name, validate_name
from copilot_repl.history.store import Store
from copilot_repl.history.summaries import Summary
from copilot_repl.providers import Provider, make_provider
from copilot_repl.providers.priority import Sends
from copilot_repl.providers.security import check_api_key

if TYPE_CHECKING:
    from copilot_repl.api.mcp import McpServer
    from copilot_repl.api.tools import Tool
    from copilot_repl.history.trash import Entry

SDK_PROTOCOL_VERSION = 3  # SDK 1.0.27's, whose API this follows
DISCOVER_TIMEOUT = 2.0  # seconds to wait for a server's model list at the first session
CLIENT_OPTIONS = {"data_dir", "config_path", "model", "base_url", "working_directory"}
CLIENT_OPTIONS |= {"on_list_models"}  # SDK 1.0: answers list_models() instead
# SDK client options copilot-repl cannot honour: refused in one line unless empty.
UNSUPPORTED_CLIENT_OPTIONS = {
    "request_handler": "copilot-repl's providers make their own model requests",
    "entra": "Entra ID sign-in (providers and keys are in config.toml)",
    "session_fs": "a session filesystem (sessions are saved in copilot-repl's data dir)",
}
# SDK client options about the CLI process that copilot-repl has no use for.
IGNORED_CLIENT_OPTIONS = {
    # SDK 1.0
    "connection",  # a RuntimeConnection: which runtime process (none here)
    "base_directory",  # the runtime's state directory
    "telemetry",  # the runtime's OpenTelemetry export
    "mode",  # "copilot-cli" or an embedding host's mode
    "client_info",
    "session_idle_timeout_seconds",
    "builtin_plugin_directories",
    "installation_confirmation_handler",
    "extension_launch_provider",  # the runtime's extensions (none here)
    "on_github_telemetry",  # never called: copilot-repl sends no telemetry
    # SDK 0.1 and 1.0
    "cli_path",
    "cli_args",
    "cwd",
    "port",
    "use_stdio",
    "log_level",
    "auto_start",
    "auto_restart",
    "github_token",
    "use_logged_in_user",
    "env",
}


class CopilotClient:
    """The session manager.

    Besides the SDK's options: ``config``, ``env``, ``transport`` (httpx's,
    for every provider), ``store``, and ``lazy_providers``: by default a
    session's provider loads what its requests need (httpx and its client)
    when the session is created or resumed, so that no send, the first one
    included, pays for it; a front end that may open a session and never
    send from it (script mode's ``:ls``) passes True, and the first send
    loads it."""

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        *,
        config: Config | None = None,
        env: Mapping[str, str] | None = None,
        transport: Any = None,
        store: Store | None = None,
        lazy_providers: bool = False,
        **kw: Any,
    ) -> None:
        given = merged(options, kw)
        opts = {k: v for k, v in given.items() if k not in IGNORED_CLIENT_OPTIONS}
        # any other option of the installed SDK (api/generated_options.py): refused too
        refused = (set(UNSUPPORTED_CLIENT_OPTIONS) | set(SDK_CLIENT_OPTIONS)) - CLIENT_OPTIONS
        for key in sorted(set(opts) & refused):
            if opts[key] not in (None, False, [], {}, ""):
                why = UNSUPPORTED_CLIENT_OPTIONS.get(key, "the Copilot CLI's runtime is not used")
                raise UsageError(f"client option {key!r} is not supported: {why}")
            del opts[key]
        unknown = sorted(set(opts) - CLIENT_OPTIONS)
        if unknown:
            raise TypeError(f"CopilotClient() got an unexpected keyword argument {unknown[0]!r}")
        # the working directory new sessions are created in (their context)
        self.working_directory = str(opts.pop("working_directory", None) or "")
        self._on_list_models: Callable[[], Any] | None = opts.pop("on_list_models", None)
        self._lifecycle: list[tuple[str | None, Callable[[SessionLifecycleEvent], None]]] = []
        if env is None and isinstance(given.get("env"), Mapping):
            env = given["env"]  # the SDK's option: the runtime's environment
        self.env: Mapping[str, str] = os.environ if env is None else env
        self._extra_env: dict[str, str] = {}
        if config is None:
            # what the SDK's CLI reads from its environment (api/runtime_env.py)
            if "data_dir" not in opts and runtime_env.data_dir(env) is not None:
                opts["data_dir"] = runtime_env.data_dir(env)
            config = load_config(env=self.env, **opts)
            key = runtime_env.token(self.env, given.get("github_token"))
            config = runtime_env.apply(config, self.env, key)
            if key and runtime_env.PROVIDER in config.providers:
                self._extra_env[runtime_env.KEY_ENV] = key
        self.config = config
        # the command line's shell read the data dir already (its first frame)
        self.store = Store(self.config.data_dir) if store is None else store
        self._transport = transport
        self._lazy_providers = lazy_providers
        self._providers: dict[str, Provider] = {}
        # requests about to leave, which this client's streaming replies let
        # out first (providers/priority.py)
        self.sends = Sends()
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._open: dict[str, CopilotSession] = {}
        self._listeners: list[Callable[[SessionEvent], None]] = []
        self._mcp: dict[str, McpServer] = {}
        self._state = "disconnected"

    # -- lifecycle ------------------------------------------------------
    async def start(self) -> None:
        """Prepare the data dir. Providers start lazily, on first use."""
        self.store.ensure()
        self._state = "connected"

    async def stop(self) -> list[Exception]:
        """Cancel replies in progress (their partial text is saved, marked
        interrupted) and stop provider processes. Returns the errors met,
        as the SDK does."""
        errors: list[Exception] = []
        results = await asyncio.gather(
            *(s._abort_all() for s in list(self._open.values())), return_exceptions=True
        )
        errors += [r for r in results if isinstance(r, Exception)]
        for provider in self._providers.values():
            try:
                await provider.aclose()
            except Exception as exc:  # keep stopping the others
                errors.append(exc)
        self._providers.clear()
        servers, self._mcp = list(self._mcp.values()), {}
        for server in servers:
            await server.aclose()
        self._state = "disconnected"
        return errors

    async def mcp_tools(self, names: Iterable[str]) -> list[Tool]:
        """copilot-repl extra: the tools of the MCP servers named (``[mcp.NAME]``
        in config.toml), each started on first use; ``UsageError`` naming an
        unknown server or one that cannot start."""
        # the [mcp] extra, only when an MCP server is used
        from copilot_repl.api.mcp import McpServer

        out: list[Tool] = []
        for name in names:
            config = self.config.mcp.get(name)
            if config is None:
                known = ", ".join(sorted(self.config.mcp)) or "none configured"
                raise UsageError(
                    f"unknown MCP server {name!r} ([mcp.NAME] in config.toml: {known})"
                )
            server = self._mcp.get(name)
            if server is None:
                server = McpServer(config, self.env, self.config.data_dir / "logs")
                self._mcp[name] = server
            out += await server.tools()
        return out

    async def force_stop(self) -> None:
        """Stop without waiting for anything to end cleanly."""
        await self.stop()

    def get_state(self) -> str:
        return self._state

    async def ping(self, message: str | None = None) -> PingResponse:
        return PingResponse(f"pong: {message or ''}", int(time.time() * 1000))

    async def __aenter__(self) -> CopilotClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- sessions -------------------------------------------------------
    async def create_session(
        self, options: Mapping[str, Any] | None = None, **kw: Any
    ) -> CopilotSession:
        """Create a session. Options as in the SDK (a dict, or keywords):
        ``session_id`` (default: a free name), ``model`` (``provider:model``,
        a provider, an alias or a model of the default provider),
        ``system_message`` (a string or ``{"content", "mode"}``), ``streaming``,
        ``on_permission_request``, ``provider`` (BYOK: ``{"base_url", "api_key"}``),
        ``on_event``. Fails if the id exists."""
        opts = merged(options, kw)
        check_session_options(opts)
        self.store.ensure()
        name = opts.get("session_id") or free_name(self.store.names())
        validate_name(name)
        if not opts.get("model") and not opts.get("provider"):
            await self._discover_default_model()
        model = self._model_for(opts)
        self.provider_config(model)
        now = time.time()
        data = SessionData(
            name=name,
            model=model,
            system=system_text(opts.get("system_message"), self.config.system),
            created=now,
            modified=now,
            cwd=os.path.realpath(
                str(opts.get("working_directory") or self.working_directory or os.getcwd())
            ),
        )
        session = CopilotSession(self, self.store.create(data), settings_from(opts))
        self._subscribe(session, opts)
        self._open[name] = session
        # As the SDK: dispatched before create_session returns (an on_event handler sees it)
        start = SessionStartData(
            copilot_version=__version__,
            producer=PRODUCER,
            session_id=name,
            start_time=datetime.now(UTC),
            version=1,
            selected_model=model.partition(":")[2],
            reasoning_effort=session.settings.reasoning_effort,
        )
        session._emit(SessionEvent(SessionEventType.SESSION_START, start, name))
        self.lifecycle("session.created", name)
        self._prepare(session)
        return session

    async def resume_session(
        self, session_id: str, options: Mapping[str, Any] | None = None, **kw: Any
    ) -> CopilotSession:
        """Reopen a saved session with its history. Options as for
        ``create_session`` (``model`` switches the model from now on)."""
        opts = merged(options, kw)
        check_session_options(opts, resume=True)
        validate_name(session_id)
        session = self._open.get(session_id)
        if session is not None:
            session.refresh()
        else:
            session = CopilotSession(self, self.store.load(session_id), settings_from(opts))
            self._open[session_id] = session
        if opts:
            session.settings = settings_from(opts)
            self._subscribe(session, opts)
        if opts.get("model") or opts.get("provider"):
            session._switch_model(self._model_for(opts))
        if opts.get("system_message") is not None:
            session.set_system(system_text(opts["system_message"], self.config.system))
        resumed = SessionResumeData(
            event_count=len(session.messages),
            resume_time=datetime.now(UTC),
            selected_model=session.model.partition(":")[2],
        )
        session._emit(SessionEvent(SessionEventType.SESSION_RESUME, resumed, session_id))
        self._prepare(session)
        return session

    def _subscribe(self, session: CopilotSession, opts: Mapping[str, Any]) -> None:
        handler = opts.get("on_event")
        if handler is not None:
            session.on(handler)

    async def _discover_default_model(self) -> None:
        """With only a server named (``--base-url``), the default model is the
        first one its ``/models`` lists; asked once, briefly, and if it does
        not answer the configured default stays."""
        if not self.config.discover_model:
            return
        self.config = replace(self.config, discover_model=False)
        name = self.config.model.partition(":")[0]
        try:
            models = await asyncio.wait_for(self.provider(name).list_models(), DISCOVER_TIMEOUT)
        except (ReplError, TimeoutError):
            return
        if models:
            first = f"{name}:{models[0]}"
            pc = replace(self.config.providers[name], default_model=models[0])
            providers = {**self.config.providers, name: pc}
            self.config = replace(self.config, model=first, providers=providers)

    def _model_for(self, opts: Mapping[str, Any]) -> str:
        provider = opts.get("provider")
        if provider:
            return self._byok(provider, str(opts.get("model") or ""))
        return self.config.resolve_model(str(opts.get("model") or ""))

    def _byok(self, provider: Mapping[str, Any], model: str) -> str:
        """SDK ``provider={...}`` (bring your own key): a provider named after
        its settings; the key stays in memory. Every key of the SDK's
        ``ProviderConfig`` is honoured or refused in one line (``byok_config``)."""

        url, settings, key = byok_config(provider)
        model = model or str(provider.get("model_id") or "")
        digest = json.dumps([url, sorted(settings.items(), key=str)], default=str)
        name = "byok-" + hashlib.sha256(digest.encode()).hexdigest()[:8]
        if key:
            check_api_key("the provider's api_key", key)
        env_name = f"COPILOT_REPL_{name.replace('-', '_').upper()}_KEY"
        if key:
            self._extra_env[env_name] = key
        if name not in self.config.providers:
            pc = ProviderSettings(
                name=name,
                base_url=url,
                api_key_env=env_name if key else "",
                default_model=model or self.config.resolve_model("").partition(":")[2],
                **settings,
            )
            self.config = replace(self.config, providers={**self.config.providers, name: pc})
        return f"{name}:{model or self.config.providers[name].default_model}"

    async def list_sessions(self, filter: SessionListFilter | None = None) -> list[SessionMetadata]:
        """Saved sessions, most recently modified first, with their summary
        (the first prompt) and context (the working directory they were
        created in). A filter by ``working_directory`` (0.1: ``cwd``) keeps
        the sessions created there; copilot-repl records no git root,
        repository or branch, so a filter naming one matches none."""
        fields: Mapping[str, Any] = {}
        if filter is not None:
            fields = filter if isinstance(filter, Mapping) else vars(filter)
        if any(fields.get(k) for k in ("git_root", "repository", "branch")):
            return []
        where = fields.get("working_directory") or fields.get("cwd")
        infos = [
            _metadata(s)
            for s in self.store.summaries()
            if not where or os.path.realpath(str(where)) == s.cwd
        ]
        return sorted(infos, key=lambda i: i.modified_time, reverse=True)

    async def get_session_metadata(self, session_id: str) -> SessionMetadata | None:
        validate_name(session_id)
        for s in self.store.summaries():
            if s.name == session_id:
                return _metadata(s)
        return None

    async def get_last_session_id(self) -> str | None:
        """The most recently modified session."""
        infos = await self.list_sessions()
        return infos[0].session_id if infos else None

    async def delete_session(self, session_id: str) -> None:
        """Delete a session and its history from disk, for good (an unknown
        id: ``SessionNotFound``, worded as the SDK's "Failed to delete session")."""
        validate_name(session_id)
        await self._close(session_id)
        try:
            self.store.delete(session_id)
        except SessionNotFound as exc:
            raise SessionNotFound(f"failed to delete session {session_id}: {exc}") from None
        # start-up: sqlite3 (the full-text index) only when needed
        from copilot_repl.history.search import forget_session_text

        forget_session_text(self.store, session_id)  # gone for good: its text too
        self.lifecycle("session.deleted", session_id)
        for name, pc in self.config.providers.items():
            if pc.kind == "copilot":  # keeps per-session state on disk: always asked
                self.provider(name)
        await self._forget_in_providers(session_id)

    async def trash_session(self, session_id: str) -> Entry:
        """copilot-repl extra: ``delete_session``, but into the trash
        (``restore_session`` in api/library.py undoes it)."""
        from copilot_repl.history import trash  # with fork and compact: not at start

        await self._close(session_id)
        entry = trash.trash_session(self.store, session_id)
        await self._forget_in_providers(session_id)
        return entry

    async def _close(self, session_id: str) -> None:
        """Stop an open session's replies and forget it (its file stays)."""
        session = self._open.pop(session_id, None)
        if session is not None:
            await session._abort_all()

    async def _forget_in_providers(self, session_id: str) -> None:
        for provider in list(self._providers.values()):
            await provider.forget_session(session_id)

    async def rename_session(self, old: str, new: str) -> None:
        """copilot-repl extra: rename a saved session (not while it answers)."""
        validate_name(new)
        session = await self.resume_session(old)
        session._idle_or_raise()
        if self.store.exists(new):
            raise SessionExists(f"session {new!r} already exists")
        session._rename(new)
        self._open[new] = self._open.pop(old)

    async def fork_session(
        self, session_id: str, new_session_id: str, *, at: int | None = None, **kw: Any
    ) -> CopilotSession:
        """copilot-repl extra (the SDK's fork, at a message): a new session with
        messages 1..``at`` (default all) of ``session_id``, recording its parent.
        ``model`` and ``system_message`` may be given; see api/library.py."""
        # start-up: not on the path to the first prompt
        from copilot_repl.api.library import fork_session

        return await fork_session(self, session_id, new_session_id, at=at, **kw)

    async def list_models(self) -> list[ModelInfo]:
        """The models of every configured provider that answers; as the SDK,
        the client option ``on_list_models`` (a function, sync or async,
        returning ``ModelInfo``s) answers instead when given."""
        if self._on_list_models is not None:
            listed = self._on_list_models()
            if inspect.isawaitable(listed):
                listed = await listed
            return list(listed)
        out: list[ModelInfo] = []
        for name, pc in self.config.providers.items():
            try:
                models = await self.provider(name).list_models()
            except Exception:  # an unreachable provider lists nothing
                continue
            limits = ModelLimits(max_context_window_tokens=pc.context_tokens)
            out += [ModelInfo(f"{name}:{m}", m, ModelCapabilities(limits=limits)) for m in models]
        return out

    def open_sessions(self) -> list[CopilotSession]:
        return list(self._open.values())

    def opened(self, session_id: str) -> CopilotSession | None:
        """The session if it is open in this process (no disk access)."""
        return self._open.get(session_id)

    def forget(self, session: CopilotSession) -> None:
        if self._open.get(session.session_id) is session:
            del self._open[session.session_id]

    # -- providers ------------------------------------------------------
    def provider_config(self, model: str) -> ProviderSettings:
        """The settings of ``model``'s provider; a model it cannot have is
        refused: the embedded model (no ``model_path`` of one's own) has
        one name, and any other was answered by it under that name."""
        name, sep, wanted = model.partition(":")
        if not sep:
            raise UsageError(f"model {model!r} should be provider:model")
        settings = self.config.provider(name)
        bundled = settings.kind == "local" and not settings.model_path
        if bundled and wanted != settings.default_model:
            raise UsageError(
                f"the embedded model is {name}:{settings.default_model}, not {model}; "
                "other models: --base-url URL (an OpenAI-compatible server) or "
                "[providers.NAME] in config.toml"
            )
        return settings

    def provider(self, name: str) -> Provider:
        if name not in self._providers:
            env = {**self.env, **self._extra_env} if self._extra_env else self.env
            self._providers[name] = make_provider(
                self.config.provider(name),
                env,
                allow_insecure=self.config.allow_insecure,
                transport=self._transport,
                data_dir=self.config.data_dir,
            )
        return self._providers[name]

    def _prepare(self, session: CopilotSession) -> None:
        """The session's provider loads what a request needs (httpx) now: a
        send, the first one too, only builds and sends its request."""
        provider = None if self._lazy_providers else self._provider_of(session)
        if provider is not None:
            provider.prepare()

    def warm(self, session: CopilotSession | None) -> None:
        """Get the provider of the session a front end opened ready for the
        first prompt, in the background: the embedded model's server starts
        loading now, not at the first Enter. Other providers do nothing, and
        nothing starts for a session that does not use the embedded model."""
        provider = None if session is None else self._provider_of(session)
        if provider is not None:
            provider.warm()

    def _provider_of(self, session: CopilotSession) -> Provider | None:
        """``session``'s provider; None for an unknown one (its first prompt says so)."""
        try:
            return self.provider(session.model.partition(":")[0])
        except ReplError:
            return None

    def slot(self, name: str) -> asyncio.Semaphore:
        if name not in self._slots:
            self._slots[name] = asyncio.Semaphore(self.config.provider(name).max_parallel)
        return self._slots[name]

    # -- status (SDK) -----------------------------------------------------
    async def get_status(self) -> GetStatusResponse:
        """copilot-repl's version; the protocol version is that of the SDK
        release whose API this follows (1.0.27 speaks protocol 3)."""
        return GetStatusResponse(__version__, SDK_PROTOCOL_VERSION)

    async def get_auth_status(self) -> GetAuthStatusResponse:
        """Authenticated when the models come from the Copilot API with a
        GitHub token (``COPILOT_API_URL``, ``api/runtime_env.py``); otherwise
        not: copilot-repl holds no GitHub login, its providers use their own keys."""
        if runtime_env.KEY_ENV in self._extra_env:
            pc = self.config.providers[runtime_env.PROVIDER]
            return GetAuthStatusResponse(True, "token", pc.base_url, None, "token (github_token)")
        return GetAuthStatusResponse(
            False, statusMessage="no GitHub login: copilot-repl's providers use their own keys"
        )

    # -- the foreground session (SDK) --------------------------------------
    async def get_foreground_session_id(self) -> str | None:
        """As the SDK's client of a headless runtime: no session is in the
        foreground (copilot-repl's library has no TUI)."""
        return None

    async def set_foreground_session_id(self, session_id: str) -> None:
        """As the SDK's client of a headless runtime: refused."""
        raise UsageError(
            "set_foreground_session_id needs a TUI server; copilot-repl's library runs headless"
        )

    # -- lifecycle events (SDK) -------------------------------------------
    def on_lifecycle(
        self,
        kind_or_handler: str | Callable[[SessionLifecycleEvent], None],
        handler: Callable[[SessionLifecycleEvent], None] | None = None,
        /,
    ) -> Callable[[], None]:
        """As the SDK: ``on_lifecycle(handler)`` for every lifecycle event, or
        ``on_lifecycle("session.created", handler)`` for one type
        (``session.created``, ``session.deleted``, ``session.updated``: the
        summary changed). Returns a function that unsubscribes."""
        if isinstance(kind_or_handler, str) and handler is not None:
            entry: tuple[str | None, Callable[[SessionLifecycleEvent], None]]
            entry = (kind_or_handler, handler)
        elif callable(kind_or_handler) and handler is None:
            entry = (None, kind_or_handler)
        else:
            raise ValueError(
                "Invalid arguments: use on_lifecycle(handler) or on_lifecycle(event_type, handler)"
            )
        self._lifecycle.append(entry)
        return lambda: self._lifecycle.remove(entry) if entry in self._lifecycle else None

    def lifecycle(self, kind: str, session_id: str) -> None:
        """Tell the lifecycle handlers (errors in them are ignored, as by the SDK)."""
        if not self._lifecycle:
            return
        event = SessionLifecycleEvent(kind, session_id)
        for wanted, handler in list(self._lifecycle):
            if wanted is None or wanted == kind:
                with contextlib.suppress(Exception):  # as the SDK
                    handler(event)

    # -- events for front ends ------------------------------------------
    def listen(self, handler: Callable[[SessionEvent], None]) -> Callable[[], None]:
        """copilot-repl extra: receive the events of every session (used by
        the front ends), except ``assistant.message_delta``: follow a turn
        with ``Turn.watch``, or subscribe to a session with ``on``."""
        self._listeners.append(handler)
        return lambda: self._listeners.remove(handler) if handler in self._listeners else None

    def broadcast(self, event: SessionEvent) -> None:
        for handler in list(self._listeners):
            handler(event)


def _metadata(s: Summary) -> SessionMetadata:
    return SessionMetadata(
        session_id=s.name,
        start_time=datetime.fromtimestamp(s.created or s.modified, UTC),
        modified_time=datetime.fromtimestamp(s.modified, UTC),
        summary=s.first_prompt or None,
        context=SessionContext(s.cwd) if s.cwd else None,
        model=s.model,
        message_count=s.messages,
    )
