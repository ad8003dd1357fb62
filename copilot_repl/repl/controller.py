"""The front-end-neutral REPL: the current session, dispatch of one line,
and the turn-level error handling shared by the shell and script mode."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from copilot_repl.api.client import CopilotClient
from copilot_repl.api.events import SessionEvent
from copilot_repl.errors import InsecureTransport, ReplError, SessionNotFound, UsageError
from copilot_repl.repl.frontend import Output
from copilot_repl.repl.parsing import parse_line
from copilot_repl.repl.registry import Registry

if TYPE_CHECKING:
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Job


class Repl:
    """State of one interactive or scripted run."""

    def __init__(self, client: CopilotClient, out: Output) -> None:
        from copilot_repl.repl.commands import Commands

        self.client = client
        self.out = out
        self.session: CopilotSession | None = None
        self.failed = False
        self.quitting = False
        self.commands = Commands(self)
        self.registry = Registry(self.commands)
        self._unlisten = client.listen(self._on_event)
        client.bug_reporter = lambda exc: self.report(exc)
        if out.interactive:  # tool permission requests (copilot, tools = true)
            client.ask = lambda what: out.confirm(f"the model asks to use {what}; allow it? [y/N] ")

    # -- the current session --------------------------------------------
    @property
    def current(self) -> CopilotSession:
        if self.session is None:
            raise UsageError("no session is open; :new creates one")
        return self.session

    async def open_initial(self, name: str | None) -> None:
        """Open --session NAME (created if missing), else the last active one,
        else the most recent, else a new session called ``main``."""
        store = self.client.store
        store.ensure()
        if name and not store.exists(name):
            await self.switch_to(await self.client.create_session(session_id=name))
            return
        name = name or store.current()
        if name is None:
            infos = await self.client.list_sessions()
            name = infos[0]["session_id"] if infos else None
        if name is None:
            session = await self.client.create_session(session_id="main")
        else:
            session = await self.client.resume_session(name)
        await self.switch_to(session, show=False)

    async def switch_to(self, session: CopilotSession, *, show: bool = True) -> None:
        self.session = session
        self.client.current = session.session_id
        self.client.store.set_current(session.session_id)
        for warning in session.warnings:
            self.out.warn(warning)
        session.warnings.clear()
        if not show:
            return
        job = session.job
        if job is not None and job.running:
            await self.follow(session, job)
        elif session.unread and session.messages:
            last = session.messages[-1]
            self.out.message(last.role, last.content, f"{session.session_id} · new reply")
            session.unread = False

    async def switch_by(self, step: int) -> None:
        names = self.client.store.names()
        if not names:
            return
        cur = self.session.session_id if self.session else names[0]
        idx = names.index(cur) if cur in names else 0
        target = names[(idx + step) % len(names)]
        await self.switch_to(await self.client.resume_session(target))

    # -- one line -------------------------------------------------------
    async def handle(self, text: str) -> None:
        """Run one input line; report any error as one line and go on."""
        try:
            await self._dispatch(text)
        except ReplError as exc:
            self.fail(str(exc))
        except (KeyboardInterrupt, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug: report it, keep the loop alive
            self.report(exc)

    async def _dispatch(self, text: str) -> None:
        line = parse_line(text)
        if line.kind == "command":
            await self.registry.lookup(line.name).handler(line.args)
        elif line.kind == "prompt":
            await self.prompt(self.current, line.args, background=line.background)

    async def prompt(self, session: CopilotSession, text: str, *, background: bool) -> None:
        if not text.strip():
            raise UsageError("the prompt is empty")
        await self.check_transport(session)
        await session.send(text)
        job = session.job
        assert job is not None
        if background or session is not self.session:
            job.background = True
            return
        await self.follow(session, job)

    async def follow(self, session: CopilotSession, job: Job) -> None:
        job.background = False  # watched now: no "reply done" notice when it ends
        outcome = await self.out.follow(session, job)
        if outcome == "background":
            job.background = True
            self.out.notice(f"[{session.session_id}] continues in the background")
        else:
            session.unread = False

    async def fanout(self, sessions: list[CopilotSession], text: str) -> None:
        if not text.strip():
            raise UsageError("the prompt is empty")
        for s in sessions:
            s._idle_or_raise()
            await self.check_transport(s)
        items = []
        for s in sessions:
            await s.send(text)
            assert s.job is not None
            items.append((s, s.job))
        await self.out.fanout(items)
        for s, _ in items:
            s.unread = False

    async def check_transport(self, session: CopilotSession) -> None:
        """An API key about to go over plain http to another host: the shell
        asks; script mode refuses (unless --allow-insecure)."""
        provider = self.client.provider(session.model.partition(":")[0])
        host = provider.insecure_host()
        if host is None:
            return
        question = f"send the API key over plain http (unencrypted) to {host}? [y/N] "
        if self.out.interactive and await self.out.confirm(question):
            provider.allow_insecure = True
            return
        raise InsecureTransport(host)

    # -- events from every session --------------------------------------
    def _on_event(self, event: SessionEvent) -> None:
        sid = event.session_id
        prefix = "" if self.session and sid == self.session.session_id else f"[{sid}] "
        if event.type == "session.error":
            self.fail(prefix + event.data.message)
        elif event.type == "session.info":
            self.out.warn(prefix + event.data.message)
        elif event.type in ("session.status", "session.queued"):
            self.out.status(prefix + event.data.message)
        elif event.type == "session.idle":
            self._maybe_notice(event)

    def _maybe_notice(self, event: SessionEvent) -> None:
        session = self.client.opened(event.session_id)
        job = session.job if session else None
        if job is None or not job.background:
            return
        what = "reply done" if job.state == "done" else f"reply {job.state}"
        self.out.notice(f"[{event.session_id}] {what} · {job.tokens} tokens · {job.elapsed:.1f} s")

    # -- errors ---------------------------------------------------------
    def fail(self, message: str) -> None:
        self.failed = True
        self.out.error(message)

    def report(self, exc: BaseException) -> None:
        self.fail(f"internal error (please report it): {type(exc).__name__}: {exc}")

    async def finish(self) -> None:
        """Wait for background replies (script mode's end of input)."""
        await self.commands.wait_for(self.client.jobs())

    async def close(self) -> None:
        self._unlisten()
        await self.client.stop()

    def check_session_exists(self, name: str) -> None:
        if not self.client.store.exists(name):
            raise SessionNotFound(f"no session named {name!r}")
