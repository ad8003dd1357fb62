"""``CopilotSession``: one named chat, its history on disk, its replies streaming."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from copilot_repl.api.events import EventData, SessionEvent
from copilot_repl.api.turn import Job, run_turn
from copilot_repl.errors import ReplError, StoreError, UsageError
from copilot_repl.history.messages import Message, api_messages, trim_history
from copilot_repl.history.store import Loaded, apply_record

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient

Handler = Callable[[SessionEvent], None]
SEND_OPTIONS = {"prompt", "mode"}


class CopilotSession:
    """A chat session. Create one with ``CopilotClient.create_session``."""

    def __init__(self, client: CopilotClient, loaded: Loaded) -> None:
        self._client = client
        self._loaded = loaded
        self._handlers: list[Handler] = []
        self._last_dropped = 0
        self.job: Job | None = None
        self.last_job: Job | None = None
        self.unread = False
        self.warnings: list[str] = list(loaded.warnings)
        loaded.warnings.clear()

    # -- what it is -----------------------------------------------------
    @property
    def session_id(self) -> str:
        return self._loaded.data.name

    @property
    def model(self) -> str:
        return self._loaded.data.model

    @property
    def system_message(self) -> str:
        return self._loaded.data.system

    @property
    def messages(self) -> list[Message]:
        return self._loaded.data.messages

    @property
    def modified_time(self) -> float:
        return self._loaded.data.modified

    @property
    def state(self) -> str:
        """idle, queued, streaming, unread, failed."""
        if self.job is not None and self.job.running:
            return self.job.state
        if self.unread:
            return "unread"
        if self.last_job is not None and self.last_job.state == "failed":
            return "failed"
        return "idle"

    # -- events ---------------------------------------------------------
    def on(self, handler: Handler) -> Callable[[], None]:
        """Call ``handler(event)`` for every event of this session; returns a
        function that unsubscribes it."""
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe

    def _emit(self, event: SessionEvent) -> None:
        for handler in list(self._handlers):
            try:
                handler(event)
            except Exception as exc:  # a bad handler must not break the stream
                self._client.report_bug(exc)
        if event.type != "assistant.message_delta":  # client-wide listeners skip deltas
            self._client.broadcast(event)

    def _info(self, kind: str, message: str) -> None:
        self._emit(SessionEvent(kind, self.session_id, EventData(message=message)))

    # -- disk -----------------------------------------------------------
    def _save(self, *records: dict[str, Any]) -> None:
        """Append to disk, then read back (which also picks up what other
        processes wrote). If the disk fails, keep it in memory and raise."""
        try:
            self._client.store.append(self.session_id, *records)
        except StoreError:
            for rec in records:
                apply_record(self._loaded, rec)
            self._loaded.data.modified = time.time()
            raise
        self.refresh()

    def refresh(self) -> None:
        """Pick up records appended by another process."""
        self._client.store.refresh(self._loaded)
        self.warnings.extend(self._loaded.warnings)
        self._loaded.warnings.clear()

    # -- sending --------------------------------------------------------
    async def send(self, options: dict[str, Any] | str | None = None, **kw: Any) -> str:
        """Send a prompt; returns once it is saved and on its way (the reply
        streams in the background: listen with ``on``). Returns the turn id."""
        prompt = _prompt(options, kw)
        job = await self._start(prompt)
        return job.rid

    async def send_and_wait(
        self, options: dict[str, Any] | str | None = None, timeout: float | None = None, **kw: Any
    ) -> SessionEvent | None:
        """Send a prompt and wait for the reply; returns the ``assistant.message``
        event (``reply.data.content``), or None if the turn produced nothing.
        Raises the turn's error as a ``ReplError`` and ``TimeoutError`` on timeout."""
        prompt = _prompt(options, kw)
        final: list[SessionEvent] = []
        unsubscribe = self.on(lambda e: final.append(e) if e.type == "assistant.message" else None)
        try:
            job = await self._start(prompt)
            await self.wait(timeout)
        finally:
            unsubscribe()
        if job.state == "failed" and not final:
            raise ReplError(job.error)
        return final[-1] if final else None

    async def _start(self, prompt: str) -> Job:
        if self.job is not None and self.job.running:
            raise UsageError(f"{self.session_id} is still answering; :wait or :cancel it first")
        self.refresh()
        record = {"t": "msg", "role": "user", "content": prompt, "ts": time.time()}
        try:
            self._save(record)
        except StoreError as exc:
            self._info("session.error", f"{exc}; the prompt is kept in memory only")
        return self._launch()

    def _launch(self) -> Job:
        provider_name = self.model.partition(":")[0]
        provider = self._client.provider(provider_name)
        model = self.model.partition(":")[2]
        messages = self._request_messages(
            provider.config.context_tokens - provider.config.reply_tokens
        )
        job = Job(session_id=self.session_id, model=self.model)
        self.job = job
        self.unread = False

        def save(*records: dict[str, Any]) -> None:
            self._save(*records)

        slot = self._client.slot(provider_name)
        job.task = asyncio.create_task(
            run_turn(job, provider, model, messages, slot, self._emit, save),
            name=f"reply:{self.session_id}",
        )
        job.task.add_done_callback(lambda _t: self._ended(job))
        return job

    def _ended(self, job: Job) -> None:
        self.last_job = job
        if job.background or self._client.current != self.session_id:
            self.unread = job.state != "failed"

    def _request_messages(self, budget: int) -> list[dict[str, str]]:
        kept, dropped = trim_history(self.messages, self.system_message, max(budget, 256))
        if dropped and dropped != self._last_dropped:
            self._info(
                "session.info",
                f"{dropped} earlier messages left out of this request to fit the model's "
                "context (they stay on disk)",
            )
        self._last_dropped = dropped
        return api_messages(self.system_message, kept)

    async def wait(self, timeout: float | None = None) -> None:
        """Wait until the current reply (if any) has ended."""
        job = self.job
        if job is None or job.task is None:
            return
        await asyncio.wait_for(asyncio.shield(job.task), timeout)

    async def abort(self) -> None:
        """Cancel the reply in progress; the partial reply is kept, marked."""
        job = self.job
        if job is not None and job.task is not None and not job.task.done():
            job.task.cancel()
            await asyncio.gather(job.task, return_exceptions=True)

    async def retry(self) -> Job:
        """Drop the last reply and ask again."""
        self._idle_or_raise()
        msgs = self.messages
        keep = len(msgs)
        while keep and msgs[keep - 1].role == "assistant":
            keep -= 1
        if keep == 0:
            raise UsageError("nothing to retry: no prompt in this session yet")
        self._save({"t": "truncate", "keep": keep})
        return self._launch()

    # -- changing it ----------------------------------------------------
    def _idle_or_raise(self) -> None:
        if self.job is not None and self.job.running:
            raise UsageError(f"{self.session_id} is still answering; :wait or :cancel it first")

    def set_model(self, model: str) -> None:
        self._client.provider_config(model)
        self._save({"t": "meta", "model": model})

    def set_system(self, text: str) -> None:
        self._save({"t": "meta", "system": text})

    def clear(self) -> None:
        self._idle_or_raise()
        self._save({"t": "truncate", "keep": 0})

    def _rename_to(self, new: str) -> None:
        self._loaded.data.name = new

    async def destroy(self) -> None:
        """Release the session (its history stays on disk)."""
        await self.abort()
        self._handlers.clear()
        self._client.forget(self)


def _prompt(options: dict[str, Any] | str | None, kw: dict[str, Any]) -> str:
    if isinstance(options, str):
        opts: dict[str, Any] = {"prompt": options}
    else:
        opts = dict(options or {})
    opts.update(kw)
    unknown = sorted(set(opts) - SEND_OPTIONS)
    if unknown:
        raise TypeError(f"unknown send option(s): {', '.join(unknown)}")
    prompt = opts.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        raise UsageError("the prompt is empty")
    return prompt
