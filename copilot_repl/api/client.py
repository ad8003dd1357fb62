"""``CopilotClient``: the session manager, in the shape of the Copilot SDK.

    client = CopilotClient()
    await client.start()
    s = await client.create_session({"session_id": "work", "model": "gpt-4.1"})
    reply = await s.send_and_wait({"prompt": "Hello"})
    print(reply.data.content)
    await client.stop()

The interactive shell and script mode are front ends over this class.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from copilot_repl.api.events import SessionEvent
from copilot_repl.api.turn import Job
from copilot_repl.config import Config, ProviderConfig, load_config
from copilot_repl.errors import SessionExists, UsageError
from copilot_repl.history.messages import SessionData
from copilot_repl.history.names import free_name, validate_name
from copilot_repl.history.store import Store
from copilot_repl.providers import Provider, make_provider

if TYPE_CHECKING:
    from copilot_repl.api.session import CopilotSession

CREATE_OPTIONS = {"session_id", "model", "system_message", "streaming"}


class SessionInfo(dict[str, Any]):
    """``list_sessions`` entries: a dict (``info["session_id"]``) that also
    answers attribute access (``info.session_id``)."""

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


class CopilotClient:
    """Creates, resumes, lists and deletes sessions; owns the providers."""

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        *,
        config: Config | None = None,
        env: Mapping[str, str] | None = None,
        transport: Any = None,
        **kw: Any,
    ) -> None:
        opts = {**(options or {}), **kw}
        unknown = sorted(set(opts) - {"data_dir", "config_path", "model", "base_url"})
        if unknown:
            raise TypeError(f"unknown CopilotClient option(s): {', '.join(unknown)}")
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.config = config or load_config(env=self.env, **opts)
        self.store = Store(self.config.data_dir)
        self.current: str | None = None
        self._transport = transport
        self._providers: dict[str, Provider] = {}
        self._slots: dict[str, asyncio.Semaphore] = {}
        self._open: dict[str, CopilotSession] = {}
        self._listeners: list[Callable[[SessionEvent], None]] = []
        self.bug_reporter: Callable[[BaseException], None] = _print_bug
        # How to ask the user a yes/no question (the shell sets it); None: refuse.
        self.ask: Callable[[str], Awaitable[bool]] | None = None

    # -- lifecycle ------------------------------------------------------
    async def start(self) -> None:
        """Prepare the data dir. Providers start lazily, on first use."""
        self.store.ensure()

    async def stop(self) -> None:
        """Cancel replies in progress (their partial text is saved, marked
        interrupted) and stop provider processes."""
        await asyncio.gather(*(s.abort() for s in list(self._open.values())))
        for provider in self._providers.values():
            await provider.aclose()
        self._providers.clear()

    async def __aenter__(self) -> CopilotClient:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- sessions -------------------------------------------------------
    async def create_session(
        self, options: Mapping[str, Any] | None = None, **kw: Any
    ) -> CopilotSession:
        """Create a session. Options: ``session_id`` (default: a free name),
        ``model`` (``provider:model``, a provider, or an alias), ``system_message``
        (a string, or ``{"content": ...}``). Fails if the id exists."""
        from copilot_repl.api.session import CopilotSession

        opts = {**(options or {}), **kw}
        unknown = sorted(set(opts) - CREATE_OPTIONS)
        if unknown:
            raise TypeError(f"unknown session option(s): {', '.join(unknown)}")
        self.store.ensure()
        name = opts.get("session_id") or free_name(self.store.names())
        validate_name(name)
        model = self.config.resolve_model(opts.get("model") or "")
        self.provider_config(model)
        now = time.time()
        data = SessionData(
            name=name,
            model=model,
            system=_system_text(opts.get("system_message"), self.config.system),
            created=now,
            modified=now,
        )
        session = CopilotSession(self, self.store.create(data))
        self._open[name] = session
        return session

    async def resume_session(self, session_id: str) -> CopilotSession:
        """Reopen a saved session with its history."""
        from copilot_repl.api.session import CopilotSession

        validate_name(session_id)
        if session_id in self._open:
            session = self._open[session_id]
            session.refresh()
            return session
        session = CopilotSession(self, self.store.load(session_id))
        self._open[session_id] = session
        return session

    async def list_sessions(self) -> list[SessionInfo]:
        """Saved sessions, most recently modified first."""
        infos = [
            SessionInfo(
                session_id=s.name,
                model=s.model,
                message_count=s.messages,
                modified_time=datetime.fromtimestamp(s.modified, UTC),
            )
            for s in self.store.summaries()
        ]
        return sorted(infos, key=lambda i: i["modified_time"], reverse=True)

    async def delete_session(self, session_id: str) -> None:
        """Delete a session and its history from disk, for good."""
        validate_name(session_id)
        session = self._open.pop(session_id, None)
        if session is not None:
            await session.abort()
        self.store.delete(session_id)
        for name, pc in self.config.providers.items():
            if pc.kind == "copilot":  # keeps per-session state on disk: always asked
                self.provider(name)
        for provider in self._providers.values():
            await provider.forget_session(session_id)

    async def rename_session(self, old: str, new: str) -> None:
        validate_name(new)
        session = await self.resume_session(old)
        session._idle_or_raise()
        if self.store.exists(new):
            raise SessionExists(f"session {new!r} already exists")
        self.store.rename(old, new)
        session._rename_to(new)
        session._loaded.inode = self.store.path(new).stat().st_ino
        self._open[new] = self._open.pop(old)

    def open_sessions(self) -> list[CopilotSession]:
        return list(self._open.values())

    def opened(self, session_id: str) -> CopilotSession | None:
        """The session if it is open in this process (no disk access)."""
        return self._open.get(session_id)

    def forget(self, session: CopilotSession) -> None:
        if self._open.get(session.session_id) is session:
            del self._open[session.session_id]

    def jobs(self) -> list[Job]:
        return [s.job for s in self._open.values() if s.job is not None and s.job.running]

    # -- providers ------------------------------------------------------
    def provider_config(self, model: str) -> ProviderConfig:
        name, sep, _ = model.partition(":")
        if not sep:
            raise UsageError(f"model {model!r} should be provider:model")
        return self.config.provider(name)

    def provider(self, name: str) -> Provider:
        if name not in self._providers:
            self._providers[name] = make_provider(
                self.config.provider(name),
                self.env,
                allow_insecure=self.config.allow_insecure,
                transport=self._transport,
                data_dir=self.config.data_dir,
            )
            if self.ask is not None:
                self._providers[name].ask_permission = self.ask
        return self._providers[name]

    def slot(self, name: str) -> asyncio.Semaphore:
        if name not in self._slots:
            self._slots[name] = asyncio.Semaphore(self.config.provider(name).max_parallel)
        return self._slots[name]

    # -- events for front ends ------------------------------------------
    def listen(self, handler: Callable[[SessionEvent], None]) -> Callable[[], None]:
        """Receive the events of every session (used by the front ends), except
        ``assistant.message_delta``: subscribe to a session with ``on`` for those."""
        self._listeners.append(handler)
        return lambda: self._listeners.remove(handler) if handler in self._listeners else None

    def broadcast(self, event: SessionEvent) -> None:
        for handler in list(self._listeners):
            try:
                handler(event)
            except Exception as exc:
                self.report_bug(exc)

    def report_bug(self, exc: BaseException) -> None:
        self.bug_reporter(exc)


def _system_text(value: Any, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, Mapping):
        return str(value.get("content", ""))
    if isinstance(value, str):
        return value
    raise TypeError("system_message must be a string or {'content': ...}")


def _print_bug(exc: BaseException) -> None:
    print(f"copilot-repl: internal error (please report): {exc!r}", file=sys.stderr)
