"""``CopilotSession``: one named chat, its history on disk, its prompts
queued and answered one at a time, as in the Copilot SDK.

A prompt sent while a reply streams waits its turn (``mode="enqueue"``, the
default) or goes to the front of the queue (``mode="immediate"``: answered
next). ``send`` returns the prompt's message id at once; ``send_and_wait``
returns the ``assistant.message`` answering its own prompt; ``session.idle``
fires once, when the queue is empty.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from copilot_repl._version import __version__
from copilot_repl.api.events import (
    AbortData,
    AbortReason,
    AssistantMessageData,
    PendingMessagesModifiedData,
    SessionErrorData,
    SessionEvent,
    SessionEventType,
    SessionIdleData,
    SessionInfoData,
    SessionMode,
    SessionModelChangeData,
    SessionWarningData,
    StatusData,
    UserMessageData,
    UserMessageDelivery,
    data_to_dict,
)
from copilot_repl.api.history_events import history_events, last_event_id
from copilot_repl.api.options import SendOptions, blob_attachment, send_options, settings_from
from copilot_repl.api.turn import Turn, TurnState, run_turn
from copilot_repl.errors import ReplError, StoreError, TurnFailed, UsageError
from copilot_repl.history import busy
from copilot_repl.history.messages import Message, api_messages, trim_history
from copilot_repl.history.records import TOOLSET_VERSION
from copilot_repl.history.store import Loaded, apply_record

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.api.options import SessionSettings
    from copilot_repl.api.toolrun import ToolBox
    from copilot_repl.api.tools import Tool
    from copilot_repl.history.compact import Compaction
    from copilot_repl.history.trash import Entry

Handler = Callable[[SessionEvent], None]
T = SessionEventType
EVENT_SCHEMA = 2  # the first file schema that holds the event log
# saved with their msg record (or, for copilot_repl's own, not at all)
_SAVED_AS_MESSAGES = {T.USER_MESSAGE, T.ASSISTANT_MESSAGE, T.STATUS, T.QUEUED}
log = logging.getLogger("copilot_repl")
LOCK_POLL = 0.1  # seconds between looks at a turn lock another process holds


@dataclass
class Cleared:
    """What ``CopilotSession.clear_messages`` did."""

    count: int  # messages cleared
    entry: Entry | None  # where they went in the trash (None: purged, or there were none)
    backups: int = 0  # backup copies removed with a purge


class SessionState(StrEnum):
    """What a session is doing (``CopilotSession.state``)."""

    IDLE = "idle"
    QUEUED = "queued"
    STREAMING = "streaming"
    FAILED = "failed"


class CopilotSession:
    """A chat session. Create one with ``CopilotClient.create_session``.

    SDK surface: ``session_id``, ``send``, ``send_and_wait``, ``on``,
    ``abort``, ``get_messages``/``get_events``, ``set_model``, ``disconnect``
    (``destroy``), ``async with``. copilot-repl extras (documented): ``model``,
    ``system_message``, ``messages``, ``state``, ``turn``, ``pending``,
    ``last_turn``, ``submit``, ``wait``, ``retry``, ``clear``, ``set_system``,
    ``refresh``, ``warnings``.
    """

    def __init__(self, client: CopilotClient, loaded: Loaded, settings: SessionSettings) -> None:
        self._client = client
        self._loaded = loaded
        self.settings = settings
        self._handlers: list[Handler] = []
        self._last_dropped = 0
        self._queue: deque[Turn] = deque()
        self._runner: asyncio.Task[None] | None = None
        self._lock: int | None = None  # the turn lock, held while the queue runs
        self._disconnected = False
        self.turn: Turn | None = None  # the reply streaming now
        self.last_turn: Turn | None = None
        self.warnings: list[str] = list(loaded.warnings)
        loaded.warnings.clear()
        # the event log: the newest non-ephemeral event (the next one's parent)
        self._last: SessionEvent | None = None
        self._tail: uuid.UUID | None | bool = False  # False: not read from the log yet
        self._log_failed = False
        # a session.resume is written with the next record, not alone: opening
        # a session to look at it leaves its file as it was
        self._deferred: list[dict[str, Any]] = []
        self._deferred_events: list[SessionEvent] = []  # the same, for get_events()

    # -- what it is -----------------------------------------------------
    @property
    def session_id(self) -> str:
        return self._loaded.data.name

    @property
    def workspace_path(self) -> None:
        """The SDK's per-session workspace: copilot-repl keeps none."""
        return None

    @property
    def model(self) -> str:
        return self._loaded.data.model

    @property
    def system_message(self) -> str:
        return self._loaded.data.system

    @property
    def messages(self) -> Sequence[Message]:
        return self._loaded.data.messages

    @property
    def compactions(self) -> tuple[Compaction, ...]:
        """copilot-repl extra: the session's compaction records, in order
        (``history/compact.py``; the one that applies is ``compact.current``)."""
        return tuple(self._loaded.compactions)

    @property
    def modified_time(self) -> float:
        return self._loaded.data.modified

    @property
    def streaming(self) -> bool:
        """Whether ``assistant.message_delta`` events are emitted (SDK option)."""
        return self.settings.streaming

    @property
    def pending(self) -> list[Turn]:
        """Prompts waiting for their turn, first to be answered first."""
        return list(self._queue)

    @property
    def busy(self) -> bool:
        return self.turn is not None or bool(self._queue)

    @property
    def state(self) -> SessionState:
        """idle, queued, streaming or failed (the last reply failed)."""
        if self.turn is not None and self.turn.state == TurnState.STREAMING:
            return SessionState.STREAMING
        if self.turn is not None or self._queue:
            return SessionState.QUEUED
        if self.last_turn is not None and self.last_turn.state == TurnState.FAILED:
            return SessionState.FAILED
        return SessionState.IDLE

    # -- events ---------------------------------------------------------
    def on(self, handler: Handler) -> Callable[[], None]:
        """Call ``handler(event)`` for every event of this session; returns a
        function that unsubscribes it."""
        if self._disconnected:
            raise RuntimeError("Session is disconnected")
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    def _stamp(self, event: SessionEvent) -> None:
        """Chain ``event`` to its predecessor, as the SDK does: its parent is
        the newest non-ephemeral event before it (None for the first)."""
        if event is self._last or event.parent_id is not None:
            return
        if self._last is not None:
            event.parent_id = self._last.id
        else:
            if self._tail is False:
                self._tail = last_event_id(self._loaded.data, self.session_id)
            event.parent_id = self._tail if isinstance(self._tail, uuid.UUID) else None
        if not event.ephemeral and self._saved(event):
            self._last = event

    def _saved(self, event: SessionEvent) -> bool:
        """Whether ``event`` goes into the saved log (schema 1 files: only
        the messages; their other events are not kept)."""
        if event.type in _SAVED_AS_MESSAGES and not _asks_for_tools(event):
            return event.type in (T.USER_MESSAGE, T.ASSISTANT_MESSAGE)
        return self._loaded.schema >= EVENT_SCHEMA and not self._loaded.read_only

    def _log(self, event: SessionEvent) -> None:
        """Save a non-ephemeral event as it happens (messages are saved as
        ``msg`` records by the turn); schema 1 files get none (read-only for
        older versions otherwise: their events are synthesised)."""
        if not self._saved(event):
            return
        record: dict[str, Any] = {
            "t": "ev",
            "type": event.type.value,
            "id": str(event.id),
            "ts": event.timestamp.isoformat(),
            "data": data_to_dict(event.data),
        }
        if event.parent_id is not None:
            record["parent"] = str(event.parent_id)
        if event.type is T.SESSION_RESUME:
            self._deferred.append(record)
            self._deferred_events.append(event)
            return
        try:
            self._save(record)
        except ReplError as exc:
            if not self._log_failed:  # said once: the events are kept in memory
                self._log_failed = True
                self.warnings.append(f"{self.session_id}: events not saved: {exc}")

    def _emit(self, event: SessionEvent) -> None:
        """Chain, save (non-ephemeral) and dispatch an event."""
        self._stamp(event)
        # a message asking for tools is an event of the log: the reply's own
        # msg record (its text) comes after the rounds it holds
        if not event.ephemeral and (event.type not in _SAVED_AS_MESSAGES or _asks_for_tools(event)):
            self._log(event)
        self._dispatch(event)

    def _dispatch(self, event: SessionEvent) -> None:
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception:  # as the SDK: logged, and the other handlers still run
                log.error("Unhandled exception in session event handler", exc_info=True)
        if event.type is not T.ASSISTANT_MESSAGE_DELTA:  # client-wide listeners skip deltas
            self._client.broadcast(event)

    def _info(self, info_type: str, message: str) -> None:
        self._emit(
            SessionEvent(T.SESSION_INFO, SessionInfoData(info_type, message), self.session_id)
        )

    async def log(
        self, message: str, *, level: str | None = None, ephemeral: bool | None = None
    ) -> None:
        """As the SDK: a message on the session's timeline, ``session.info``
        (level "info", the default), ``session.warning`` or ``session.error``,
        saved in the event log unless ``ephemeral``."""
        self._check_connected()
        level = level or "info"
        data: Any
        if level == "info":
            kind, data = T.SESSION_INFO, SessionInfoData("notification", message)
        elif level == "warning":
            kind, data = T.SESSION_WARNING, SessionWarningData(message, "notification")
        elif level == "error":
            kind, data = T.SESSION_ERROR, SessionErrorData("notification", message)
        else:
            raise ValueError(f"level {level!r}: one of info, warning, error")
        self._emit(SessionEvent(kind, data, self.session_id, ephemeral=ephemeral or None))

    def _error(self, error_type: str, message: str, message_id: str | None = None) -> None:
        data = SessionErrorData(error_type, message, originating_message_id=message_id)
        self._emit(SessionEvent(T.SESSION_ERROR, data, self.session_id))

    # -- disk -----------------------------------------------------------
    def _save(self, *records: dict[str, Any]) -> None:
        """Append to disk, then read back (which also picks up what other
        processes wrote). If the disk fails, keep it in memory and raise."""
        records, self._deferred = (*self._deferred, *records), []
        self._deferred_events = []
        try:
            # into the very file this session was read from (checked under
            # the lock), and read back with what other processes appended
            self._client.store.append(self.session_id, *records, loaded=self._loaded)
        except StoreError:
            for rec in records:
                apply_record(self._loaded, rec)
            self._loaded.data.modified = time.time()
            raise
        finally:
            self._take_warnings()

    def _take_warnings(self) -> None:
        self.warnings.extend(self._loaded.warnings)
        self._loaded.warnings.clear()

    def refresh(self) -> None:
        """Pick up records appended by another process."""
        self._client.store.refresh(self._loaded)
        self._take_warnings()

    def _rename(self, new: str) -> None:
        """Called by ``CopilotClient.rename_session``: the file and this
        session take the new name together."""
        self._client.store.rename(self.session_id, new, self._loaded)

    # -- sending --------------------------------------------------------
    async def send(self, prompt: str | Mapping[str, Any] | None = None, **kw: Any) -> str:
        """Queue a prompt; returns its message id at once (the reply streams
        in the background: listen with ``on``). Accepts the SDK's 1.0 shape
        (``send("hi", mode="immediate")``) and its 0.1 dict shape
        (``send({"prompt": "hi"})``)."""
        opts = send_options(prompt, kw)
        turn = self._submit(opts)
        await _let_start()
        return turn.message_id

    async def send_and_wait(
        self,
        prompt: str | Mapping[str, Any] | None = None,
        timeout: float = 60.0,
        **kw: Any,
    ) -> SessionEvent | None:
        """Send a prompt and wait until it is answered and the session is
        idle; returns the ``assistant.message`` event answering it (None if
        there was none).
        On timeout raises ``TimeoutError`` (the turn goes on); a failed turn
        raises ``Exception("Session error: ...")``, an aborted one
        ``RuntimeError``, as the SDK does."""
        opts = send_options(prompt, kw)
        if opts.timeout is not None:
            timeout = opts.timeout
        answer: list[SessionEvent] = []
        mine: list[str] = []  # the prompt's id, once known
        unsubscribe = self.on(lambda e: _keep_answer(e, answer, mine))
        try:
            turn = self._submit(opts)
            mine.append(turn.message_id)
            try:
                await asyncio.wait_for(self._until_idle(turn), timeout)
            except TimeoutError:
                raise TimeoutError(f"Timeout after {timeout}s waiting for session.idle") from None
        finally:
            unsubscribe()
        if turn.cancelled:
            raise RuntimeError("Session aborted before response completed")
        if turn.error:
            raise TurnFailed(turn.error)
        return _answer_of(answer)

    async def _until_idle(self, turn: Turn) -> None:
        """As the SDK: until the session is idle after this prompt's turn (a
        prompt queued behind it is answered first); at once if it failed."""
        await turn.wait()
        if not (turn.cancelled or turn.error):
            await self.wait()

    async def submit(
        self, prompt: str, *, mode: str = "enqueue", images: list[dict[str, Any]] | None = None
    ) -> Turn:
        """copilot-repl extra: queue a prompt and return its ``Turn`` (what
        the front ends follow); ``images``: as ``options.load_attachment``
        makes them."""
        opts = send_options(prompt, {"mode": mode})
        opts.images += images or []
        return self._submit(opts)

    def _submit(self, opts: SendOptions) -> Turn:
        self._check_connected()
        self.refresh()  # a session deleted by another process fails here, at once
        # a model no provider can answer (its provider gone from the config, or
        # saved as local:OTHER before the embedded model's one name was checked)
        self._client.provider_config(self.model)
        turn = Turn(self.session_id, self.model, prompt=opts.prompt, mode=opts.mode)
        turn.images = opts.images
        turn.headers = opts.headers
        if self.settings.client_name:  # as the CLI: the SDK's client_name in the User-Agent
            agent = f"copilot-repl/{__version__} {self.settings.client_name}"
            turn.headers = {"User-Agent": agent, **(opts.headers or {})}
        if self.busy:  # as the CLI: how the prompt reached the agent
            immediate = opts.mode == "immediate"
            turn.delivery = (
                UserMessageDelivery.STEERING if immediate else UserMessageDelivery.QUEUED
            )
        if opts.mode == "immediate":
            self._queue.appendleft(turn)
        else:
            self._queue.append(turn)
        self._pending_changed()
        if self._runner is None or self._runner.done():
            if self._lock is None:  # taken now: a purge right after this finds it held
                self._lock = busy.try_hold(self._client.store.root, self.session_id)
            turn.hold_sends(self._client.sends)  # it starts now: streaming replies let it out
            self._runner = asyncio.create_task(self._run_queue(), name=f"queue:{self.session_id}")
        return turn

    def _pending_changed(self) -> None:
        event = SessionEvent(
            T.PENDING_MESSAGES_MODIFIED, PendingMessagesModifiedData(), self.session_id
        )
        event.ephemeral = True
        self._emit(event)

    async def _run_queue(self) -> None:
        aborted = False
        try:
            while self._queue:
                turn = self._queue.popleft()
                self._pending_changed()
                if turn.cancelled:
                    turn.end_unstarted()
                    continue
                self.turn = turn
                turn.hold_sends(self._client.sends)
                try:
                    if await self._hold_turn_lock(turn):
                        await self._answer(turn)
                    else:
                        turn.end_unstarted()
                finally:
                    turn.release_hold()
                    self.turn = None
                    self.last_turn = turn
                    turn.mark_ended()
                aborted = turn.cancelled
        finally:
            self._release_lock()
            self._runner = None
            if aborted:  # as the CLI: the queue is reported (empty) before the idle
                self._pending_changed()
            idle = SessionIdleData(aborted or None, SessionMode.INTERACTIVE)
            self._emit(SessionEvent(T.SESSION_IDLE, idle, self.session_id, ephemeral=True))

    async def _hold_turn_lock(self, turn: Turn) -> bool:
        """Wait for the session's turn lock (``history/busy.py``), held while
        this queue runs: a turn of another process on this session ends
        first, as a queued prompt waits here. False: cancelled meanwhile."""
        root = self._client.store.root
        if self._lock is None:
            self._lock = busy.try_hold(root, self.session_id)
        if self._lock is None:
            note = f"waiting: {self.session_id} is answering a prompt in another process"
            self._emit(SessionEvent(T.QUEUED, StatusData(note), self.session_id, ephemeral=True))
            if turn.hold is not None:
                turn.hold.pause()  # the other replies do not wait for this wait
        while self._lock is None:
            if turn.cancelled:
                return False
            await asyncio.sleep(LOCK_POLL)
            self._lock = busy.try_hold(root, self.session_id)
        if turn.hold is not None:
            turn.hold.resume()
        return True

    def _release_lock(self) -> None:
        if self._lock is not None:
            busy.release(self._lock)
            self._lock = None

    async def _answer(self, turn: Turn) -> None:
        """Save the prompt, then stream its reply."""
        turn.model = self.model  # a set_model() while it was queued applies
        data = UserMessageData(turn.prompt, delivery=turn.delivery, message_id=turn.message_id)
        if turn.images:  # the SDK's blob attachments
            data.attachments = [blob_attachment(image) for image in turn.images]
        event = SessionEvent(T.USER_MESSAGE, data, self.session_id)
        self._stamp(event)
        record = {
            "t": "msg",
            "role": "user",
            "content": turn.prompt,
            "ts": time.time(),
            "id": turn.message_id,
            "eid": str(event.id),
            "data": {"delivery": turn.delivery.value},
        }
        if turn.images:
            record["data"] = {"delivery": turn.delivery.value, "attachments": turn.images}
        if event.parent_id is not None:
            record["parent"] = str(event.parent_id)
        try:
            self.refresh()
            self._save(record)
        except StoreError as exc:
            self._error("persistence", f"{exc}; the prompt is kept in memory only")
        except ReplError as exc:  # deleted or replaced by another process meanwhile
            turn.error, turn.error_type = str(exc), "persistence"
            turn.state, turn.ended = TurnState.FAILED, time.monotonic()
            self._error("persistence", str(exc), turn.message_id)
            return
        self._emit(event)
        if (
            sum(m.role == "user" for m in self.messages[:2]) == 1
            and self.messages[0].id == turn.message_id
        ):
            self._client.lifecycle("session.updated", self.session_id)  # its summary is set
        await self._stream(turn)
        if self._client.config.auto_compact and turn.state is TurnState.DONE:
            # start-up: not on the path to the first prompt
            from copilot_repl.api.library import auto_compact

            said = await auto_compact(self._client, self)
            if said:
                self._info("compaction", said)

    async def _stream(self, turn: Turn) -> None:
        provider_name = self.model.partition(":")[0]
        provider = self._client.provider(provider_name)
        budget = provider.config.context_tokens - provider.config.reply_tokens
        messages = self._request_messages(budget, turn.message_id)
        turn.price = self._client.config.prices.get(self.model)
        turn.wire_model = provider.config.wire_model
        if self.settings.reasoning_effort:  # as the CLI: sent with the request
            turn.params["reasoning_effort"] = self.settings.reasoning_effort
        turn.task = asyncio.create_task(
            run_turn(
                turn,
                provider,
                messages,
                self._client.slot(provider_name),
                self._emit,
                self._save,
                streaming=self.streaming,
                ask_permission=self.settings.ask_permission,
                stamp=self._stamp,
                sends=self._client.sends,
                tools=self._toolbox(),
            ),
            name=f"reply:{self.session_id}",
        )
        await turn.task

    def _toolbox(self) -> ToolBox | None:
        """The session's tools for a turn (None: it has none)."""
        settings = self.settings
        if not settings.tools:
            return None
        from copilot_repl.api.toolrun import ToolBox  # start-up: only a turn with tools

        return ToolBox(
            list(settings.tools),
            settings.permission_handler,
            settings.available_tools,
            settings.excluded_tools,
            self._client.config.tool_timeout,
        )

    async def set_tools(self, tools: list[Tool]) -> None:
        """Replace the session's tools (as the SDK's experimental
        ``set_tools``): the next model call offers the new ones."""

        checked = settings_from({"tools": tools})
        self.settings.tools = checked.tools

    @property
    def saved_tools(self) -> tuple[list[str], list[str]] | None:
        """copilot-repl extra: the tool set saved with the session (the MCP
        servers it uses, the tools turned off); None: none was saved."""
        saved = self._loaded.data.tools
        if saved is None:
            return None
        return list(saved["servers"]), list(saved["off"])

    def save_tools(self, servers: list[str], off: list[str]) -> None:
        """copilot-repl extra: save the session's tool set (kept across
        launches; ``saved_tools`` reads it back)."""
        toolset = {"v": TOOLSET_VERSION, "servers": list(servers), "off": list(off)}
        self._save({"t": "meta", "tools": toolset})

    def _request_messages(self, budget: int, until_id: str = "") -> list[dict[str, Any]]:
        """The history up to (and including) this turn's own prompt: a prompt
        another process appended meanwhile is not answered by this reply."""
        msgs = self.messages
        if until_id:
            for i in range(len(msgs) - 1, -1, -1):
                if msgs[i].id == until_id:
                    msgs = msgs[: i + 1]
                    break
        from copilot_repl.api.library import request_view  # here: start-up does not need it

        system, msgs, _ = request_view(self.compactions, self.system_message, msgs)
        kept, dropped = trim_history(msgs, system, max(budget, 256))
        if dropped and dropped != self._last_dropped:
            self._info(
                "context_trimmed",
                f"{dropped} earlier messages left out of this request to fit the model's "
                "context (they stay on disk)",
            )
        self._last_dropped = dropped
        return api_messages(system, kept)

    async def compact(self, focus: str = "", *, model: str | None = None) -> Compaction:
        """copilot-repl extra: a model's summary stands in for the older
        messages in later requests (they stay on disk); see api/library.py."""
        # start-up: not on the path to the first prompt
        from copilot_repl.api.library import compact_session

        return await compact_session(self._client, self, focus, model=model)

    async def wait(self, timeout: float | None = None) -> None:
        """copilot-repl extra: wait until every queued prompt is answered."""
        runner = self._runner
        if runner is not None:
            await asyncio.wait_for(asyncio.shield(runner), timeout)

    async def abort(self) -> None:
        """Abort the reply being produced (its partial text is kept, marked
        interrupted) and drop the prompts queued behind it, as the SDK does."""
        if self.turn is not None or self._queue:
            await self._cancel(drop_queued=True)

    async def cancel_reply(self) -> None:
        """copilot-repl extra: abort only the reply being produced; prompts
        queued behind it still run (``:cancel`` in the shell)."""
        if self.turn is not None:
            await self._cancel(drop_queued=False)

    async def _cancel(self, *, drop_queued: bool) -> None:
        self._emit(SessionEvent(T.ABORT, AbortData(AbortReason.USER_INITIATED), self.session_id))
        if drop_queued:
            self._drop_queued()
        turn = self.turn
        if turn is not None:
            turn.cancel()
            if turn.task is not None:
                await asyncio.gather(turn.task, return_exceptions=True)

    def _drop_queued(self) -> None:
        dropped, self._queue = list(self._queue), deque()
        for turn in dropped:
            turn.end_unstarted()
        if dropped or self.turn is not None:
            self._pending_changed()

    async def _abort_all(self) -> None:
        await self.abort()
        if self._runner is not None:
            await asyncio.gather(asyncio.shield(self._runner), return_exceptions=True)

    async def retry(self) -> Turn:
        """copilot-repl extra: drop the last reply and ask again."""
        self._idle_or_raise()
        self.refresh()
        msgs = self.messages
        keep = len(msgs)
        while keep and msgs[keep - 1].role == "assistant":
            keep -= 1
        if keep == 0:
            raise UsageError("nothing to retry: no prompt in this session yet")
        prompt = msgs[keep - 1]
        # computed from what this process has seen: the store refuses it
        # (SessionChanged) if another process changed the messages meanwhile
        self._client.store.truncate(self._loaded, keep - 1)
        return self._submit(send_options(prompt.content, {}))

    # -- history as events ------------------------------------------------
    async def get_events(self) -> list[SessionEvent]:
        """The session's saved event log: every non-ephemeral event, with the
        ids, timestamps and parents they had live (older files: synthesised,
        see ``api/history_events.py``)."""
        self._check_connected()
        self.refresh()
        events = history_events(self._loaded.data, self.session_id)
        return events + [e for e in self._deferred_events if e.id not in {x.id for x in events}]

    def _check_connected(self) -> None:
        """After ``disconnect()`` the SDK's runtime no longer knows the session."""
        if self._disconnected:
            raise RuntimeError(f"Session not found: {self.session_id}")

    async def get_messages(self) -> list[SessionEvent]:
        """The 0.1 SDK name of ``get_events``."""
        return await self.get_events()

    # -- changing it ----------------------------------------------------
    def _idle_or_raise(self) -> None:
        if self.busy:
            raise UsageError(f"{self.session_id} is still answering; :wait or :cancel it first")

    async def set_model(self, model: str, *, reasoning_effort: str | None = None) -> None:
        """Switch the model for the next turns (an alias, ``provider:model``,
        a provider, or a model of the current provider)."""
        previous = self.model
        previous_effort = self.settings.reasoning_effort
        resolved = self._client.config.resolve_model(model)
        self._switch_model(resolved)
        if reasoning_effort is not None:
            self.settings.reasoning_effort = reasoning_effort or None
        # as the CLI: both efforts, the current one kept when none is given
        data = SessionModelChangeData(
            new_model=resolved.partition(":")[2],
            previous_model=previous.partition(":")[2],
            previous_reasoning_effort=previous_effort,
            reasoning_effort=self.settings.reasoning_effort,
        )
        self._emit(SessionEvent(T.SESSION_MODEL_CHANGE, data, self.session_id))

    def _switch_model(self, resolved: str) -> None:
        """The model from now on, saved (``resume_session(model=...)``: no
        ``session.model_change``, as with the SDK)."""
        self._client.provider_config(resolved)
        if resolved != self.model:
            self._save({"t": "meta", "model": resolved})

    def set_system(self, text: str) -> None:
        self._save({"t": "meta", "system": text})

    def clear(self) -> None:
        self._idle_or_raise()
        self._client.store.truncate(self._loaded, 0)

    def clear_messages(self, *, purge: bool) -> Cleared:
        """copilot-repl extra (``:clear``): the messages go to the trash
        first; with ``purge`` they leave the disk (the file is rewritten
        without them, backups and the search index too)."""
        # start-up: sqlite3 (the full-text index) only when needed
        from copilot_repl.history import trash  # start-up: with fork and compact
        from copilot_repl.history.search import forget_session_text

        store = self._client.store
        self.refresh()
        count = len(self.messages)
        if not purge:
            entry = trash.trash_messages(store, self._loaded)
            self.clear()
            return Cleared(count, entry)
        self._idle_or_raise()
        # no turn (of any process) starts meanwhile; refused: nothing cleared
        with busy.no_turn(store.root, self.session_id, ":clear --purge"):
            self.clear()
            done = trash.vacuum(store, self.session_id)
        forget_session_text(store, self.session_id)
        self._loaded = store.load(self.session_id)
        return Cleared(count, None, done.backups)

    async def disconnect(self) -> None:
        """Release the session (its history stays on disk; resume it later).
        A reply streaming is cancelled, its partial text kept."""
        if self._disconnected:
            return
        await self._abort_all()
        self._handlers.clear()
        self._disconnected = True
        self._client.forget(self)

    async def destroy(self) -> None:
        """The SDK 0.1 name of ``disconnect`` (1.0 renamed it)."""
        await self.disconnect()

    async def __aenter__(self) -> CopilotSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()


async def _let_start() -> None:
    """Give a turn just queued on an idle session the chance to start (its
    ``user.message`` and ``assistant.turn_start`` dispatched) before ``send``
    returns, as with the SDK, whose ``send`` is a round trip to the CLI: two
    loop iterations, one for the queue runner, one for the turn."""
    for _ in range(2):
        await asyncio.sleep(0)


def _asks_for_tools(event: SessionEvent) -> bool:
    data = event.data
    return isinstance(data, AssistantMessageData) and bool(data.tool_requests)


def _keep_answer(event: SessionEvent, into: list[SessionEvent], mine: list[str]) -> None:
    data = event.data
    if isinstance(data, AssistantMessageData) and data.originating_message_id in mine:
        into.append(event)


def _answer_of(answer: list[SessionEvent]) -> SessionEvent | None:
    """As the SDK: the last reply; a message asking for tools is not the
    answer, unless the turn has nothing after it (a rejected call ended it)."""
    replies = [e for e in answer if not _asks_for_tools(e)]
    return replies[-1] if replies else answer[-1] if answer else None
