"""The front-end-neutral REPL: it owns the REPL's state (which session is
current, which replies the user has not seen, which replies are being
followed on screen), runs one line at a time, and turns session events into
lines for the front end. The shell and script mode share it."""

from __future__ import annotations

import asyncio
import functools
from typing import TYPE_CHECKING, Any

from copilot_repl.api.events import SessionEvent, SessionEventType
from copilot_repl.errors import InsecureTransport, ReplError, UsageError
from copilot_repl.repl.frontend import Frontend
from copilot_repl.repl.parsing import natural_sorted, parse_line
from copilot_repl.repl.registry import Registry
from copilot_repl.repl.tools import ToolPolicy, tool_line
from copilot_repl.repl.wording import count
from copilot_repl.sanitize import redact

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Turn

T = SessionEventType


class Repl:
    """State of one interactive or scripted run."""

    def __init__(self, client: CopilotClient, out: Frontend) -> None:
        # start-up: not on the path to the first prompt
        from copilot_repl.history.blinds import BlindStore
        from copilot_repl.repl.masks import Masks

        self.client = client
        self.out = out
        # sessions whose model is not shown: blind comparisons, this process's and on disk
        self.masks = Masks(BlindStore(client.config.data_dir))
        out.masks = self.masks
        self.session: CopilotSession | None = None  # the current session: stored here only
        # finished replies not shown yet, by session (the toolbar's "unread")
        self.unseen: dict[str, list[Turn]] = {}
        self.followed: set[str] = set()  # ids of the replies being shown live
        self.known_models: dict[str, list[str]] = {}  # what :models listed, per provider
        self.failed = False
        self.quitting = False
        # :file's attachments for the next prompt: (name, a text block or an image)
        self.attached: list[tuple[str, str | dict[str, Any]]] = []
        self._unlisten = client.listen(self._on_event)

        self.tool_policy = ToolPolicy()  # --allow-tool, and the answers given
        self.default_tools: list[str] = []  # --tools: MCP servers of the sessions prompted
        self.tool_sets: dict[str, list[str]] = {}  # session -> its MCP servers
        self._calls: dict[str, tuple[str, str]] = {}  # tool call id -> (tool, arguments)
        # permission questions of sessions not on screen, asked when switched to
        self._questions: dict[str, tuple[str, asyncio.Future[str]]] = {}
        self._asking = asyncio.Lock()

    @functools.cached_property
    def registry(self) -> Registry:
        """The commands, built at the first one: a script of prompts alone
        (a one-shot) does not import them (~20 ms)."""
        # start-up: not on the path to the first prompt
        from copilot_repl.repl.commands import command_groups

        return Registry(*command_groups(self))

    # -- the current session --------------------------------------------
    @property
    def current(self) -> CopilotSession:
        if self.session is None:
            raise UsageError("no session is open; :new creates one")
        return self.session

    @property
    def current_name(self) -> str:
        return self.session.session_id if self.session is not None else ""

    async def open_initial(self, name: str | None) -> None:
        """Open --session NAME (created if missing), else the last active one,
        else the most recent, else a new session called ``main``."""
        store = self.client.store
        store.ensure()
        self.show_store_warnings()
        days = self.client.config.trash_days
        if days > 0:  # never silently: it says what went
            # start-up: not on the path to the first prompt
            from copilot_repl.api.library import purge_old_trash

            gone, kept = purge_old_trash(self.client)
            for why in kept:  # the start goes on
                self.out.note(f"not purged yet (trash_days): {why}")
            if gone:
                names = ", ".join(sorted({e.name for e in gone}))
                self.out.note(
                    f"purged {len(gone)} trash items older than {days:g} days ({names}) "
                    "(trash_days)"
                )
        if name and not store.exists(name):
            await self.switch_to(await self.client.create_session(session_id=name))
            return
        if name:  # asked for by name: its error is the answer
            session = await self.client.resume_session(name)
        else:
            session = await self._open_last()
        await self.switch_to(session, show=False)

    async def _open_last(self) -> CopilotSession:
        """The last active session, else the most recent one that opens, else
        a new ``main``: one damaged file does not stop the start."""
        store = self.client.store
        tried: set[str] = set()
        for name in store.reopen_candidates():
            if name in tried:
                continue
            tried.add(name)
            try:
                return await self.client.resume_session(name)
            except ReplError as exc:
                self.out.warn(f"cannot open {name}: {exc}")
        taken = set(store.names())
        return await self.client.create_session(session_id="main" if "main" not in taken else None)

    async def switch_to(self, session: CopilotSession, *, show: bool = True) -> None:
        self.session = session
        self.client.store.set_current(session.session_id)  # for the next launch
        for warning in session.warnings:
            self.out.warn(warning)
        session.warnings.clear()
        if not show:
            return
        await self.answer_pending(session)
        turn = session.turn
        if turn is not None and turn.running:
            await self.follow(session, turn)
        elif session.session_id in self.unseen and session.messages:
            self._show_unseen(session)

    def _show_unseen(self, session: CopilotSession) -> None:
        self.unseen.pop(session.session_id, None)
        last = session.messages[-1]
        self.out.message(last.role, last.content, f"{session.session_id} · new reply")

    async def switch_by(self, step: int) -> None:
        names = natural_sorted(self.client.store.listed(self.current_name))  # the toolbar's
        if not names:
            return
        cur = self.current_name or names[0]
        idx = names.index(cur) if cur in names else 0
        target = names[(idx + step) % len(names)]
        await self.switch_to(await self.client.resume_session(target))

    def display_state(self, name: str) -> str:
        """idle, queued, streaming, unread (a reply not seen yet), failed, or
        permission (a tool waits for the user's answer)."""
        opened = self.client.opened(name)
        state = opened.state if opened is not None else "idle"
        if name in self.tool_policy.waiting:
            return "permission"
        if state not in ("queued", "streaming") and name in self.unseen:
            return "unread"
        return state

    def forget(self, name: str) -> None:
        """A session was deleted."""
        self.unseen.pop(name, None)

    def renamed(self, old: str, new: str) -> None:
        if old in self.unseen:
            self.unseen[new] = self.unseen.pop(old)
        if self.current_name == new:
            self.client.store.set_current(new)

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
        finally:
            self.show_store_warnings()
        if self.session is not None and self.session.session_id in self._questions:
            await self.answer_pending(self.session)

    def show_store_warnings(self) -> None:
        """What the store noticed about files it does not own (stray names,
        FIFOs, an open data dir, a repaired rename), each said once."""
        for warning in self.client.store.take_warnings():
            self.out.warn(warning)

    async def _dispatch(self, text: str) -> None:
        line = parse_line(text)
        if line.kind == "command":
            await self.registry.lookup(line.name).run(line.args)
        elif line.kind == "prompt":
            await self.prompt(self.current, line.args, background=line.background)

    def adopt(self, session: CopilotSession) -> None:
        """Let the model's tool permission requests be asked in the shell
        (copilot provider, tools = true; the session's own tools, see
        repl/tools.py); script mode refuses them unless --allow-tool."""
        if self.out.interactive and session.settings.ask_permission is None:
            out = self.out
            session.settings.ask_permission = lambda what: out.confirm(
                f"the model asks to use {what}; allow it? [y/N] "
            )
        if session.settings.permission_handler is None:
            sid = session.session_id
            ask = (lambda q: self.ask_tool(sid, q)) if self.out.interactive else None
            session.settings.permission_handler = self.tool_policy.handler(sid, ask, self.out.warn)

    async def ask_tool(self, sid: str, question: str) -> str:
        """A session's permission question: asked at once if its reply is on
        screen, else kept (toolbar ⚠, :jobs) until the user switches to it."""
        session = self.client.opened(sid)
        turn = session.turn if session is not None else None
        if turn is not None and turn.rid in self.followed:  # on screen (:ask, :all too)
            async with self._asking:  # one question at a time
                return await self.out.ask(question)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._questions[sid] = (question, future)
        self.out.notice(f"[{sid}] waits for permission to run a tool: :switch {sid} to answer")
        try:
            return await future
        finally:
            self._questions.pop(sid, None)

    async def answer_pending(self, session: CopilotSession) -> None:
        """Put the session's waiting permission question, if any, to the user."""
        waiting = self._questions.get(session.session_id)
        if waiting is not None and not waiting[1].done():
            async with self._asking:
                answer = await self.out.ask(waiting[0])
            if not waiting[1].done():
                waiting[1].set_result(answer)

    async def ready(self, session: CopilotSession) -> None:
        """Before a prompt: permissions asked here, and its tools (the --tools
        of the run, else the tool set saved with it)."""
        self.adopt(session)
        if session.session_id in self.tool_sets:
            return
        if self.default_tools:  # for this run: the saved set stays, its tools off stay off
            saved = session.saved_tools
            await self.equip(session, self.default_tools, saved[1] if saved else [], save=False)
        else:
            await self.restore_tools(session)

    async def restore_tools(self, session: CopilotSession) -> None:
        """Give a session the tool set saved with it, once per run (its MCP
        servers start now); a server no longer in config.toml is left out,
        said in one line."""
        saved = session.saved_tools
        if saved is None or session.session_id in self.tool_sets:
            return
        servers, off = saved
        known = [n for n in servers if n in self.client.config.mcp]
        if len(known) < len(servers):
            gone = ", ".join(n for n in servers if n not in known)
            self.out.status(f"{session.session_id}: MCP server {gone} is no longer in config.toml")
        await self.equip(session, known, off, save=False)

    async def equip(
        self,
        session: CopilotSession,
        servers: list[str],
        off: list[str] | None = None,
        *,
        save: bool = True,
    ) -> None:
        """Give a session the tools of these MCP servers (none: no tools),
        those named in ``off`` turned off; saved with it unless ``save`` is
        False."""
        tools = await self.client.mcp_tools(servers)
        await session.set_tools(tools)
        self.tool_sets[session.session_id] = list(servers)
        self._turn_off(session, off or [], save=save)

    def switch_tools(self, session: CopilotSession, names: list[str], *, on: bool) -> None:
        """``:tools on|off NAME,NAME``: turn single tools of the session on or
        off (saved with it); ``UsageError`` naming a tool it does not have."""
        have = [t.name for t in session.settings.tools]
        unknown = [n for n in names if n not in have]
        if unknown:
            listed = ", ".join(have) or "none"
            raise UsageError(
                f"{session.session_id} has no tool {unknown[0]!r} (its tools: {listed})"
            )
        off = list(session.settings.excluded_tools or [])
        off = (
            [n for n in off if n not in names]
            if on
            else [*off, *(n for n in names if n not in off)]
        )
        self._turn_off(session, off, save=True)

    def _turn_off(self, session: CopilotSession, off: list[str], *, save: bool) -> None:
        session.settings.excluded_tools = list(off) or None
        if save:
            session.save_tools(self.tool_sets.get(session.session_id, []), off)

    async def prompt(self, session: CopilotSession, text: str, *, background: bool) -> None:
        if not text.strip():
            raise UsageError("the prompt is empty")
        await self.check_transport(session)
        await self.ready(session)
        ahead = session.busy
        text, images = self.take_attached(text)
        turn = await session.submit(text, images=images)
        if background or session is not self.session:
            if ahead and self.out.interactive:
                self.out.status(f"queued in {session.session_id} (:jobs lists it)")
            return
        if ahead:
            self.out.status(f"queued behind the reply streaming in {session.session_id}")
        await self.follow(session, turn)

    def take_attached(self, text: str) -> tuple[str, list[dict[str, Any]]]:
        """``text`` with the text files ``:file`` attached, and its images;
        they go with this prompt only."""
        attached, self.attached = self.attached, []
        blocks = "".join(a for _, a in attached if isinstance(a, str))
        return text + blocks, [a for _, a in attached if not isinstance(a, str)]

    async def follow(self, session: CopilotSession, turn: Turn) -> None:
        await self.answer_pending(session)  # else the reply would wait on screen for it
        if not self.out.interactive:  # script mode: the replies queued ahead first, in order
            while (ahead := session.turn or next(iter(session.pending), None)) not in (None, turn):
                assert ahead is not None
                await ahead.wait()
            self._print_unseen([session])
        self.followed.add(turn.rid)  # watched now: no "reply done" notice when it ends
        try:
            outcome = await self.out.follow(session, turn)
        finally:
            self.followed.discard(turn.rid)
        if outcome == "background":
            self.out.notice(f"[{session.session_id}] continues in the background")
        else:
            self.unseen.pop(session.session_id, None)

    async def fanout(
        self,
        sessions: list[CopilotSession],
        text: str,
        *,
        shown: list[tuple[CopilotSession, Turn]] | None = None,
    ) -> list[Turn]:
        """One prompt to several sessions, shown side by side (after the
        already ended replies in ``shown``, e.g. the original of ``:again``);
        a busy session gets it queued behind its reply. Returns the new turns."""
        if not text.strip():
            raise UsageError("the prompt is empty")
        for s in sessions:
            await self.check_transport(s)
        items = list(shown or [])
        text, images = self.take_attached(text)
        for s in sessions:
            await self.ready(s)
            items.append((s, await s.submit(text, images=images)))
        new = [t for _, t in items[len(shown or []) :]]
        self.followed.update(t.rid for t in new)
        try:
            outcome = await self.out.fanout(items)
        finally:
            self.followed.difference_update(t.rid for t in new)
        if outcome != "background":
            for s in sessions:
                self.unseen.pop(s.session_id, None)
        return new

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

    # -- replies in progress ----------------------------------------------
    def turns(self) -> list[Turn]:
        """Replies streaming or queued, in every open session."""
        out: list[Turn] = []
        for s in self.client.open_sessions():
            if s.turn is not None:
                out.append(s.turn)
            out += s.pending
        return out

    async def wait_for(self, sessions: list[CopilotSession] | None) -> None:
        """Wait until those sessions (None: all) have answered everything;
        script mode then prints the replies that were not shown."""
        chosen = self.client.open_sessions() if sessions is None else sessions
        await asyncio.gather(*(s.wait() for s in chosen), return_exceptions=True)
        if not self.out.interactive:
            self._print_unseen(chosen)

    def _print_unseen(self, sessions: list[CopilotSession]) -> None:
        """Script mode: the background replies of ``sessions`` not printed yet."""
        for s in sessions:
            for turn in self.unseen.pop(s.session_id, []):
                model = self.masks.model(s.session_id, turn.model)
                self.out.message("assistant", turn.text, f"{s.session_id} ({model})")

    # -- events from every session --------------------------------------
    def _on_event(self, event: SessionEvent) -> None:
        try:
            self._show_event(event)
        except Exception as exc:  # a bug in showing must not break the stream
            self.report(exc)

    def _show_event(self, event: SessionEvent) -> None:
        sid = event.session_id
        prefix = "" if sid == self.current_name else f"[{sid}] "
        kind = event.type
        scrub = self.masks.scrub  # a blind session's model is not named
        if kind is T.SESSION_ERROR:
            self.fail(prefix + scrub(sid, event.data.message))
        elif kind in (T.SESSION_INFO, T.SESSION_WARNING):
            self.out.warn(prefix + scrub(sid, event.data.message))
        elif kind in (T.STATUS, T.QUEUED):
            self.out.status(prefix + scrub(sid, event.data.message))
        elif kind is T.ASSISTANT_TURN_END:
            self._turn_ended(sid, event.data.turn_id)
        elif kind is T.TOOL_EXECUTION_START:
            self._calls[event.data.tool_call_id] = (event.data.tool_name, event.data.arguments)
            if self.out.interactive:  # a passing line; script mode says only how it ended
                self.out.status(prefix + tool_line(event.data.tool_name, event.data.arguments))
        elif kind is T.TOOL_EXECUTION_COMPLETE:
            name, args = self._calls.pop(event.data.tool_call_id, ("tool", {}))
            self.out.status(prefix + tool_line(name, args, done=event.data))

    def _turn_ended(self, sid: str, turn_id: str) -> None:
        """A reply nobody was watching ended: note it, and show it at once if
        it belongs to the current session in the shell. (A round of tool calls
        ends a model call, not the reply: its turn_id is not the reply's.)"""
        session = self.client.opened(sid)
        turn = session.turn if session is not None else None
        if session is None or turn is None or turn.call_id != turn_id:
            return
        if turn.rid in self.followed:
            return
        if not turn.cancelled and turn.text:
            if self.out.interactive and sid == self.current_name:
                self.out.message("assistant", turn.text, f"{sid} · reply")
            else:
                self.unseen.setdefault(sid, []).append(turn)
        what = "reply done" if turn.state == "done" else f"reply {turn.state}"
        self.out.notice(f"[{sid}] {what} · {count(turn.tokens, 'token')} · {turn.elapsed:.1f} s")

    # -- errors ---------------------------------------------------------
    def fail(self, message: str) -> None:
        self.failed = True
        self.out.error(message)

    def report(self, exc: BaseException) -> None:
        self.fail(f"internal error (please report it): {type(exc).__name__}: {redact(str(exc))}")

    async def finish(self) -> None:
        """Wait for background replies (script mode's end of input)."""
        await self.wait_for(None)

    async def close(self) -> None:
        self._unlisten()
        await self.client.stop()
