"""A new request goes on the wire before the replies already streaming
take more of the event loop.

One event loop serves every session of a process. While many replies
stream faster than the process reads them, each loop iteration gives every
one of them a step (a read of up to 64 KiB: hundreds of deltas), and a new
request needs a dozen iterations (tasks, locks, connect, write) before its
bytes leave: with 99 replies streaming, seconds. So a turn about to send
holds its client's ``Sends`` from the moment it starts until its request is written
(connecting included: completing a connect takes loop iterations too), and
a streaming reply does not process its next piece while a hold is on
(``if sends.held: await sends.wait()``, once a piece). Holds on for longer
than ``MAX_HOLD`` in a row no longer stop anything (a slow connect, or many
users sending all the time: every stream gets its fair share again), so a
stream never waits longer than that.
"""

from __future__ import annotations

import asyncio
import contextvars
import time

MAX_HOLD = 0.25  # seconds: holds on longer than this in a row no longer stop streams


class Sends:
    """How many requests are about to be sent (held), and the streams waiting
    for them to leave."""

    def __init__(self) -> None:
        self.held = 0
        self.since = 0.0  # when ``held`` last went from 0 to 1
        self._waiters: list[asyncio.Future[None]] = []

    def hold(self) -> Hold:
        return Hold(self)

    def _add(self) -> None:
        if not self.held:
            self.since = time.monotonic()
        self.held += 1

    def _remove(self) -> None:
        self.held -= 1
        if not self.held:
            waiters, self._waiters = self._waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    async def wait(self) -> None:
        """Until no request is held, or they have been for MAX_HOLD in a row."""
        left = self.since + MAX_HOLD - time.monotonic()
        if left <= 0:
            return
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[None] = loop.create_future()
        self._waiters.append(fut)
        timer = loop.call_later(left, _set, fut)
        try:
            await fut
        finally:
            timer.cancel()
            if fut in self._waiters:
                self._waiters.remove(fut)


def _set(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)


class Hold:
    """One request's hold: on when made; ``pause`` while it waits its turn
    (a free slot), ``resume`` after; ``release`` when it is written
    (idempotent)."""

    def __init__(self, sends: Sends) -> None:
        self.sends = sends
        self.on = True
        self.done = False
        sends._add()

    def pause(self) -> None:
        if self.on:
            self.on = False
            self.sends._remove()

    def resume(self) -> None:
        if not self.on and not self.done:
            self.on = True
            self.sends._add()

    def release(self) -> None:
        self.pause()
        self.done = True

    async def trace(self, name: str, info: object) -> None:
        """httpx's ``trace`` extension: follows the request's way out."""
        if name.endswith(("send_request_body.complete", ".failed")):
            self.release()


# Per task, set by api/turn.run_turn: the hold of the turn this task streams,
# and the Sends of its client (one per CopilotClient: the sessions of one
# client share an event loop, and nothing is shared between clients).
CURRENT_HOLD: contextvars.ContextVar[Hold | None] = contextvars.ContextVar(
    "copilot_repl_send_hold", default=None
)
CURRENT_SENDS: contextvars.ContextVar[Sends | None] = contextvars.ContextVar(
    "copilot_repl_sends", default=None
)
