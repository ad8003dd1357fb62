"""One turn: save the prompt, stream the reply, save it as it grows and at the end."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from copilot_repl.api.events import EventData, SessionEvent
from copilot_repl.errors import ReplError, StoreError
from copilot_repl.history.messages import DONE, ERROR, INTERRUPTED, estimate_tokens
from copilot_repl.history.store import PROCESS_TOKEN
from copilot_repl.providers import Provider

SAVE_EVERY = 1.0  # seconds between partial saves of a streaming reply
_ids = itertools.count(1)

Emit = Callable[[SessionEvent], None]
Save = Callable[..., None]


@dataclass
class Job:
    """A reply being produced (or queued) for one session."""

    session_id: str
    model: str
    state: str = "queued"  # queued, streaming, done, interrupted, failed
    started: float = field(default_factory=time.monotonic)
    first_token: float | None = None
    ended: float | None = None
    parts: list[str] = field(default_factory=list)
    chars: int = 0
    tokens: int = 0
    error: str = ""
    rid: str = field(default_factory=lambda: f"{PROCESS_TOKEN}-{next(_ids)}")
    task: asyncio.Task[str] | None = None
    background: bool = False

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    @property
    def running(self) -> bool:
        return self.state in ("queued", "streaming")


class PartialSaver:
    """Appends the growing reply at most once per SAVE_EVERY seconds."""

    def __init__(self, job: Job, save: Save) -> None:
        self.job = job
        self.save = save
        self.saved = 0  # number of parts already on disk
        self.last = time.monotonic()
        self.failed = False

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last >= SAVE_EVERY:
            self.flush()
            self.last = now

    def flush(self) -> None:
        parts = self.job.parts
        if self.saved >= len(parts) or self.failed:
            return
        text = "".join(parts[self.saved :])
        self.saved = len(parts)
        try:
            self.save({"t": "part", "id": self.job.rid, "text": text})
        except StoreError:
            self.failed = True  # reported once when the reply ends


async def run_turn(
    job: Job,
    provider: Provider,
    model: str,
    messages: list[dict[str, str]],
    slot: asyncio.Semaphore,
    emit: Emit,
    save: Save,
) -> str:
    """Stream one reply into ``job``; returns the final status. Never raises
    for provider errors or cancellation: those end the turn with a status."""
    sid = job.session_id

    def event(kind: str, **data: object) -> None:
        emit(SessionEvent(kind, sid, EventData(**data)))  # type: ignore[arg-type]

    saver = PartialSaver(job, save)

    def on_delta(text: str) -> None:  # the hot path: once per streamed piece
        if job.first_token is None:
            job.first_token = time.monotonic()
        job.parts.append(text)
        job.chars += len(text)
        emit(SessionEvent("assistant.message_delta", sid, EventData(delta_content=text)))
        saver.tick()

    status = DONE
    try:
        if slot.locked():
            event(
                "session.queued",
                message=f"queued: waiting for a free slot at {provider.config.name}",
            )
        async with slot:
            job.state = "streaming"
            event("assistant.turn_start", model=model)
            done = await provider.stream(
                model,
                messages,
                on_delta,
                lambda s: event("session.status", message=s),
                session_id=sid,
            )
        job.tokens = done.completion_tokens or estimate_tokens(job.text) - 4
    except asyncio.CancelledError:
        status = INTERRUPTED
        job.error = "cancelled"
    except ReplError as exc:
        status = INTERRUPTED if job.parts else ERROR
        job.error = str(exc)
    except Exception as exc:  # a bug: end the turn cleanly, say so
        status = INTERRUPTED if job.parts else ERROR
        job.error = f"internal error (please report it): {type(exc).__name__}: {exc}"
    job.tokens = job.tokens or max(job.chars // 4, 0)
    job.ended = time.monotonic()
    job.state = "interrupted" if job.error == "cancelled" else "failed" if job.error else "done"
    _finish(job, status, model, save, saver, event)
    return status


def _finish(
    job: Job,
    status: str,
    model: str,
    save: Save,
    saver: PartialSaver,
    event: Callable[..., None],
) -> None:
    text = job.text
    if text or status == DONE:
        record = {
            "t": "msg",
            "id": job.rid,
            "role": "assistant",
            "content": text,
            "ts": time.time(),
            "status": status,
            "model": job.model,
            "tokens": job.tokens,
        }
        try:
            save(record)
        except StoreError as exc:
            event(
                "session.error",
                message=f"{exc}; the reply is kept in memory only "
                "(:export PATH saves it elsewhere)",
            )
        event(
            "assistant.message",
            content=text,
            status=status,
            tokens=job.tokens,
            elapsed=job.elapsed,
            model=model,
        )
    if job.error:
        message = job.error if job.error != "cancelled" else "reply cancelled"
        if job.error != "cancelled":
            event("session.error", message=message, status=status)
    event("session.idle", status=status, tokens=job.tokens, elapsed=job.elapsed)
