"""One turn: a prompt waiting in the session's queue, then its reply
streaming, saved as it grows (at most SAVE_EVERY seconds unsaved, on a
timer, even when the stream pauses) and at the end, with its figures."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from copilot_repl.api.events import (
    AbortData,
    AbortReason,
    AssistantMessageData,
    AssistantMessageDeltaData,
    AssistantTurnEndData,
    AssistantTurnStartData,
    AssistantUsageData,
    SessionErrorData,
    SessionEvent,
    SessionEventType,
    SessionInfoData,
    StatusData,
    UserMessageDelivery,
)
from copilot_repl.errors import ProviderError, ReplError
from copilot_repl.history.messages import MessageStatus, estimate_tokens
from copilot_repl.history.store import PROCESS_TOKEN
from copilot_repl.providers.base import REQUEST_HEADERS, AskFn, Provider, ReplyEnd
from copilot_repl.providers.priority import CURRENT_HOLD, CURRENT_SENDS, Hold, Sends

if TYPE_CHECKING:
    from copilot_repl.api.toolrun import ToolBox
from copilot_repl.sanitize import redact

SAVE_EVERY = 1.0  # seconds: at most this much received text is ever unsaved
MAX_TOOL_ROUNDS = 25  # model calls in a row that ask for tools; then the turn stops
_ids = itertools.count(1)

Emit = Callable[[SessionEvent], None]
Save = Callable[..., None]
T = SessionEventType


RATE_TOKENS = 16  # a decode rate needs at least this many tokens
RATE_SPAN = 0.1  # seconds from the first token to the last, at least


class TurnState(StrEnum):
    QUEUED = "queued"
    STREAMING = "streaming"
    DONE = "done"
    INTERRUPTED = "interrupted"
    FAILED = "failed"


def new_id() -> str:
    """Unique among processes, even ones that had the same pid."""
    return f"{PROCESS_TOKEN}-{next(_ids)}"


@dataclass(eq=False)
class Turn:
    """A prompt and its reply: queued, then streaming, then ended."""

    session_id: str
    model: str
    prompt: str = ""
    message_id: str = field(default_factory=new_id)  # the prompt's id (send() returns it)
    mode: str = "enqueue"
    # its images: blob attachments (options.load_attachment), sent as image parts
    images: list[dict[str, Any]] = field(default_factory=list)
    delivery: UserMessageDelivery = UserMessageDelivery.IDLE  # user.message's delivery
    wire_model: str = ""  # the model name the server is sent, when not the session's
    params: dict[str, Any] = field(default_factory=dict)  # request parameters (SDK options)
    headers: dict[str, str] | None = None  # sent with its requests (SDK request_headers)
    state: TurnState = TurnState.QUEUED
    created: float = field(default_factory=time.monotonic)
    started: float | None = None  # request sent
    first_token: float | None = None
    last_token: float | None = None
    ended: float | None = None
    parts: list[str] = field(default_factory=list)
    chars: int = 0
    tokens: int = 0
    tokens_counted: bool = False  # True: counted here, the provider gave no usage
    input_tokens: int | None = None
    finish_reason: str | None = None
    error: str = ""
    error_type: str = ""
    status_code: int | None = None
    cancelled: bool = False
    price: tuple[float, float] | None = None  # dollars per million tokens in, out
    rid: str = field(default_factory=new_id)  # the reply's id
    task: asyncio.Task[None] | None = None
    # functions given each piece of the reply as it arrives, whatever the
    # session's ``streaming`` setting (how the front ends follow a reply)
    watchers: list[Callable[[str], None]] = field(default_factory=list)
    # on from when it is about to start until its request is written: the
    # replies streaming meanwhile let it out first (providers/priority.py)
    hold: Hold | None = None
    # the rounds of tool calls before the reply (saved with it: Message.tools)
    tool_rounds: list[dict[str, Any]] = field(default_factory=list)
    # a round's rejection ended it, the model not asked again (toolrun.Round.ends)
    rejected: str | None = None
    _done: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def call_id(self) -> str:
        """The id of the model call under way (``turn_id`` of its events): the
        reply's id, then ``ID.1``, ``ID.2``... after each round of tools."""
        return f"{self.rid}.{len(self.tool_rounds)}" if self.tool_rounds else self.rid

    @property
    def elapsed(self) -> float:
        start = self.started if self.started is not None else self.created
        return (self.ended or time.monotonic()) - start

    @property
    def running(self) -> bool:
        return self.state in (TurnState.QUEUED, TurnState.STREAMING)

    @property
    def ttft(self) -> float | None:
        """Seconds from the request to the first token."""
        if self.first_token is None or self.started is None:
            return None
        return self.first_token - self.started

    @property
    def decode_rate(self) -> float | None:
        """Tokens per second from the first token to the last (the wait for
        the first token does not count against the rate). None when it would
        mean nothing: a few tokens, or all of them in one burst (a figure
        like "271828 tok/s" measures the network, not the model)."""
        if self.first_token is None or self.last_token is None or self.tokens < RATE_TOKENS:
            return None
        span = self.last_token - self.first_token
        return (self.tokens - 1) / span if span >= RATE_SPAN else None

    def figures(self) -> dict[str, Any]:
        """What is saved with the reply and shown to help choose a model."""
        out: dict[str, Any] = {"total_s": round(self.elapsed, 3)}
        if self.ttft is not None:
            out["ttft_s"] = round(self.ttft, 3)
        if self.decode_rate is not None:
            out["tok_s"] = round(self.decode_rate, 1)
        if self.input_tokens is not None:
            out["tokens_in"] = self.input_tokens
        out["tokens_out"] = self.tokens
        if self.tokens_counted:
            out["counted"] = True
        if self.finish_reason:
            out["finish_reason"] = self.finish_reason
        cost = self.cost
        if cost is not None:
            out["cost"] = cost
        return out

    @property
    def cost(self) -> float | None:
        """Dollars, from the price table of the config (None: no price, or
        the tokens in are unknown and cost something)."""
        if self.price is None or (self.input_tokens is None and self.price[0]):
            return None
        spent = (self.input_tokens or 0) * self.price[0] + self.tokens * self.price[1]
        return round(spent / 1_000_000, 6)

    def cancel(self) -> None:
        """Cancel it: a queued turn never starts, a streaming one stops (its
        partial reply is kept, marked interrupted)."""
        self.cancelled = True
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def watch(self, fn: Callable[[str], None]) -> Callable[[], None]:
        """Call ``fn(piece)`` for each piece of the reply; returns an unwatch."""
        self.watchers.append(fn)
        return lambda: self.watchers.remove(fn) if fn in self.watchers else None

    def hold_sends(self, sends: Sends) -> None:
        """It starts now: put its hold on (providers/priority.py)."""
        if self.hold is None:
            self.hold = sends.hold()

    def release_hold(self) -> None:
        if self.hold is not None:
            self.hold.release()

    def end_unstarted(self) -> None:
        """End a turn that never started (cancelled while queued)."""
        self.release_hold()
        self.state = TurnState.INTERRUPTED
        self.cancelled = True
        self.ended = time.monotonic()
        self._done.set()

    def mark_ended(self) -> None:
        self._done.set()

    async def wait(self) -> None:
        await self._done.wait()


class PartialSaver:
    """Saves the growing reply: when a delta arrives SAVE_EVERY seconds after
    the last save, and on a timer while the stream is silent."""

    def __init__(self, turn: Turn, save: Save) -> None:
        self.turn = turn
        self.save = save
        self.saved = 0  # number of parts already on disk
        self.last = time.monotonic()
        self.failed = False
        self._timer: asyncio.TimerHandle | None = None

    def tick(self, now: float) -> None:
        """A delta arrived at ``now`` (the caller's clock reading: one per delta)."""
        if now - self.last >= SAVE_EVERY:
            self.flush()
        elif self._timer is None:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(SAVE_EVERY - (now - self.last), self.flush)

    def flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.last = time.monotonic()
        parts = self.turn.parts
        if self.saved >= len(parts) or self.failed:
            return
        text = "".join(parts[self.saved :])
        self.saved = len(parts)
        try:
            self.save({"t": "part", "id": self.turn.rid, "text": text})
        except ReplError:  # the disk, or the session deleted by another process
            self.failed = True  # reported once when the reply ends

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def restart(self) -> None:
        """A new round of the turn: its parts start again from none."""
        self.stop()
        self.saved = 0


async def run_turn(
    turn: Turn,
    provider: Provider,
    messages: list[dict[str, Any]],
    slot: asyncio.Semaphore,
    emit: Emit,
    save: Save,
    *,
    streaming: bool = True,
    ask_permission: AskFn | None = None,
    stamp: Emit | None = None,
    sends: Sends | None = None,
    tools: ToolBox | None = None,
) -> None:
    """Stream one reply into ``turn``; when it asks for tools, run them and
    ask again (at most MAX_TOOL_ROUNDS times). Never raises for provider
    errors or cancellation: those end the turn with a state and events.
    ``ask_permission``: how to ask about a tool this reply wants to use.
    ``stamp`` gives the ``assistant.message`` event its parent before its
    record is saved (the record holds the event's id and parent)."""
    sid = turn.session_id
    model = turn.model.partition(":")[2]

    def event(kind: SessionEventType, data: Any, *, ephemeral: bool | None = None) -> None:
        emit(SessionEvent(kind, data, session_id=sid, ephemeral=ephemeral))

    saver = PartialSaver(turn, save)

    def on_delta(text: str) -> None:  # the hot path: once per streamed piece
        now = time.monotonic()
        if turn.first_token is None:
            turn.first_token = now
        turn.last_token = now
        turn.parts.append(text)
        turn.chars += len(text)
        for watch in turn.watchers:
            watch(text)
        if streaming:
            event(
                T.ASSISTANT_MESSAGE_DELTA, AssistantMessageDeltaData(text, turn.rid), ephemeral=True
            )
        saver.tick(now)

    end: ReplyEnd | None = None
    if sends is not None:
        CURRENT_SENDS.set(sends)  # this task's own context
    if turn.headers:
        REQUEST_HEADERS.set(turn.headers)  # likewise
    hold = turn.hold
    if hold is not None:
        if provider.follows_hold:
            CURRENT_HOLD.set(hold)  # this task's own context
        else:
            hold.release()
    definitions = tools.definitions() if tools is not None else []
    rounds = 0
    try:
        while True:
            if slot.locked():
                note = f"queued: waiting for a free slot at {provider.config.name}"
                event(T.QUEUED, StatusData(note), ephemeral=True)
                if hold is not None:
                    hold.pause()  # not while it waits
            async with slot:
                if hold is not None:
                    hold.resume()
                turn.state = TurnState.STREAMING
                if turn.started is None:
                    turn.started = time.monotonic()
                event(T.ASSISTANT_TURN_START, AssistantTurnStartData(turn.call_id, model))
                end = await provider.stream(
                    model,
                    messages,
                    on_delta,
                    lambda s: event(T.STATUS, StatusData(s), ephemeral=True),
                    session_id=sid,
                    ask_permission=ask_permission,
                    params=turn.params or None,
                    tools=definitions or None,
                )
            if tools is None or not end.tool_calls:
                break
            rounds += 1
            messages = [*messages, *await _tool_round(turn, end, tools, saver, event)]
            end = None
            if turn.rejected:  # as the CLI: a rejection ends the turn after its round
                break
            if rounds >= MAX_TOOL_ROUNDS:
                turn.error = (
                    f"the model asked for tools {rounds} times in a row; the turn was stopped"
                )
                turn.error_type = "tool_rounds"
                break
    except asyncio.CancelledError:
        turn.cancelled = True
    except ReplError as exc:
        turn.error = str(exc)
        turn.error_type = _error_type(exc)
        if isinstance(exc, ProviderError):
            turn.status_code = exc.status_code
    except Exception as exc:  # a bug: end the turn cleanly, say so
        detail = redact(str(exc))  # may quote a header, a URL with userinfo, a key
        turn.error = f"internal error (please report it): {type(exc).__name__}: {detail}"
        turn.error_type = "internal"
    except BaseException:
        # SystemExit from the SIGTERM/SIGHUP handler, raised in whatever frame
        # runs when the signal comes, here in the middle of this turn: the
        # partial reply is saved, marked interrupted, before the exit goes on
        turn.cancelled = True
        saver.stop()
        _settle(turn, end)
        _finish(turn, save, event, emit, stamp or (lambda _e: None))
        raise
    finally:
        saver.stop()
        turn.release_hold()
    _settle(turn, end)
    _finish(turn, save, event, emit, stamp or (lambda _e: None))


async def _tool_round(
    turn: Turn,
    end: ReplyEnd,
    tools: ToolBox,
    saver: PartialSaver,
    event: Callable[..., None],
) -> list[dict[str, Any]]:
    """The model asked for tools: say so (usage, the message with its
    ``tool_requests``), run them, end this model call's turn and open the
    next one's; returns the messages that carry the calls and results. The
    rounds are saved with the reply that follows them (one ``msg`` record;
    its ``part`` records, keyed by the reply's id, span all the rounds)."""
    # start-up: only a turn with tools
    from copilot_repl.api.toolrun import run_round, tool_requests

    model = turn.model.partition(":")[2]
    text = turn.text
    round_id = turn.call_id
    usage = AssistantUsageData(
        model=model, input_tokens=end.prompt_tokens, output_tokens=end.completion_tokens
    )
    event(T.ASSISTANT_USAGE, usage, ephemeral=True)
    message = AssistantMessageData(
        content=text,
        message_id=f"{round_id}.tools",
        model=model,
        turn_id=round_id,
        originating_message_id=turn.message_id,
        tool_requests=tool_requests(end.tool_calls),
    )
    event(T.ASSISTANT_MESSAGE, message)
    ran = await run_round(
        tools,
        end.tool_calls,
        event,
        text=text,
        session_id=turn.session_id,
        model=model,
        turn_id=round_id,
    )
    turn.tool_rounds.append(ran.saved)
    turn.rejected = ran.ends
    event(T.ASSISTANT_TURN_END, AssistantTurnEndData(round_id, model))
    saver.flush()  # what streamed so far is on disk before the next call
    turn.parts.clear()
    turn.chars = 0
    saver.restart()
    return ran.messages


def _error_type(exc: ReplError) -> str:
    if isinstance(exc, ProviderError):
        name = type(exc).__name__
        return {
            "AuthError": "authentication",
            "RateLimited": "rate_limit",
            "ContextTooLong": "context_limit",
        }.get(name, "query")
    return "query"


def _settle(turn: Turn, end: ReplyEnd | None) -> None:
    """Work out the final state and token counts."""
    turn.ended = time.monotonic()
    if end is not None:
        turn.finish_reason = end.finish_reason
        turn.input_tokens = end.prompt_tokens
        if end.completion_tokens:
            turn.tokens = end.completion_tokens
    if not turn.tokens and turn.chars:
        turn.tokens = max(estimate_tokens(turn.text) - 4, 1)
        turn.tokens_counted = True
    if turn.cancelled:
        turn.state = TurnState.INTERRUPTED
    elif turn.error:
        turn.state = TurnState.FAILED
    else:
        turn.state = TurnState.DONE


def status_of(turn: Turn) -> MessageStatus:
    """How the saved reply is marked."""
    if turn.cancelled or (turn.error and turn.parts):
        return MessageStatus.INTERRUPTED
    if turn.error:
        return MessageStatus.ERROR
    if turn.finish_reason == "length":
        return MessageStatus.TRUNCATED
    if turn.finish_reason == "content_filter":
        return MessageStatus.FILTERED
    return MessageStatus.DONE


def _finish(turn: Turn, save: Save, event: Callable[..., None], emit: Emit, stamp: Emit) -> None:
    text = turn.text
    status = status_of(turn)
    model = turn.wire_model or turn.model.partition(":")[2]  # as the CLI: the wire model
    # a turn a rejection ended answers nothing after its round (as the CLI)
    answered = (text or status == MessageStatus.DONE) and not (turn.cancelled or turn.rejected)
    if answered:
        # As the SDK: the usage of the model call, then the message; an
        # aborted turn has neither (its partial text is on disk, marked).
        usage = AssistantUsageData(
            model=model,
            input_tokens=turn.input_tokens,
            output_tokens=turn.tokens,
            duration=timedelta(seconds=turn.elapsed),
            finish_reason=turn.finish_reason,
            estimated=turn.tokens_counted,
        )
        event(T.ASSISTANT_USAGE, usage, ephemeral=True)
    message: SessionEvent | None = None
    if answered:
        data = AssistantMessageData(
            content=text,
            message_id=turn.rid,
            model=model,
            output_tokens=turn.tokens,
            turn_id=turn.call_id,
            originating_message_id=turn.message_id,
            status=status.value,
        )
        message = SessionEvent(T.ASSISTANT_MESSAGE, data, session_id=turn.session_id)
        stamp(message)
    if text or status == MessageStatus.DONE or turn.tool_rounds:
        record: dict[str, Any] = {
            "t": "msg",
            "id": turn.rid,
            "role": "assistant",
            "content": text,
            "ts": time.time(),
            "status": status.value,
            "model": turn.model,
            "tokens": turn.tokens,
            "figures": turn.figures(),
        }
        if message is not None:
            record["eid"] = str(message.id)
            record["data"] = {"turn_id": turn.call_id}
            if message.parent_id is not None:
                record["parent"] = str(message.parent_id)
        if turn.cancelled:  # cut by abort(): shown, but as on the SDK never sent again
            record["aborted"] = True
        if turn.tool_rounds:
            record["tools"] = turn.tool_rounds
        try:
            save(record)
        except ReplError as exc:  # the disk, or the session deleted by another process
            message_ = f"{exc}; the reply is kept in memory only (:export PATH saves it elsewhere)"
            event(T.SESSION_ERROR, SessionErrorData("persistence", message_))
    elif status == MessageStatus.ERROR:
        # no reply to save: a note that the turn failed (`sessions list` says so)
        with contextlib.suppress(ReplError):  # the disk, or the session deleted
            save({"t": "meta", "failed": turn.error[:500] or "failed"})
    if message is not None:
        emit(message)
    if turn.rejected and not turn.cancelled:
        # as the CLI: the round's turn_end was the last; a refusal without
        # feedback then aborts the turn (saved), and says so (not saved)
        if turn.rejected == "abort":
            event(T.ABORT, AbortData(AbortReason.USER_INITIATED))
            info = SessionInfoData("cancellation", "Operation cancelled by user")
            event(T.SESSION_INFO, info, ephemeral=True)
        return
    # as the CLI: the turn ends, then its error is reported
    event(T.ASSISTANT_TURN_END, AssistantTurnEndData(turn.call_id, turn.model.partition(":")[2]))
    if turn.error:
        failure = SessionErrorData(
            turn.error_type or "query",
            turn.error,
            status_code=turn.status_code,
            originating_message_id=turn.message_id,
        )
        event(T.SESSION_ERROR, failure)
