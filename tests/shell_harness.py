"""The interactive shell driven in-process, for the tests that drive it
(test_shell_unit.py, test_shell_queue.py; the ``shell`` fixture is in
conftest.py): prompt_toolkit reads keys from a pipe and renders to a dummy
output, rich prints replies into a string, the model is the loopback server."""

from __future__ import annotations

import asyncio
import inspect
import io
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from fakeserver import FakeServer
from helpers import (  # noqa: F401  (the keys: tests take them from here)
    CTRL_C,
    CTRL_D,
    CTRL_Z,
    ESC_ENTER,
    SHIFT_TAB,
    TAB,
    UP,
    session_records,
    slow,
)
from prompt_toolkit.application import get_app_or_none
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from copilot_repl.api.client import CopilotClient
from copilot_repl.config import load_config
from copilot_repl.render.markdown_stream import make_console
from copilot_repl.repl.controller import Repl
from copilot_repl.shell.loop import Shell
from copilot_repl.shell.terminal import TerminalOutput

GUARD = 10.0  # seconds: a guard against hanging, not a timing assertion


def make_client(server: FakeServer, home: Path) -> CopilotClient:
    env = {"COPILOT_REPL_HOME": str(home)}
    return CopilotClient(config=load_config(base_url=server.url, env=env), env=env)


def saved_messages(home: Path, name: str) -> list[dict[str, object]]:
    return [r for r in session_records(home, name) if r.get("t") == "msg"]


async def until(cond: Callable[[], object], what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + GUARD
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"gave up waiting for {what}")
        await asyncio.sleep(0.01)


@dataclass
class Harness:
    shell: Shell
    repl: Repl
    inp: PipeInput
    buf: io.StringIO
    home: Path
    task: asyncio.Task[int] = field(init=False)

    def send(self, keys: str) -> None:
        self.inp.send_text(keys)

    @property
    def text(self) -> str:
        return self.buf.getvalue()

    @property
    def current(self) -> str:
        assert self.repl.session is not None
        return self.repl.session.session_id

    def prompt_up(self) -> bool:
        return self.shell.busy is None and self.shell.session.app.is_running

    def line_waiting(self) -> bool:
        """The line running has begun and now waits (on replies, a question)."""
        busy = self.shell.busy
        state = inspect.getcoroutinestate(busy.get_coro()) if busy is not None else ""
        return state == inspect.CORO_SUSPENDED

    def asking(self) -> bool:
        """A question (``confirm``) is up: its own prompt reads the keys."""
        app = get_app_or_none()
        return app is not None and app is not self.shell.session.app and app.is_running

    async def at_prompt(self) -> None:
        await until(self.prompt_up, "the prompt")

    async def line(self, text: str, done: Callable[[], object], what: str) -> None:
        """Type a line at the prompt; wait for its effect and the next prompt."""
        await self.at_prompt()
        self.send(text + "\r")
        await until(done, what)
        await self.at_prompt()

    async def typed(self, text: str) -> None:
        await until(lambda: self.shell.session.default_buffer.text == text, repr(text))

    def toolbar(self) -> str:
        return "".join(t for _, t in self.shell._toolbar())

    def turns(self) -> int:
        return len(self.repl.turns())

    def streaming(self) -> bool:
        """A reply streams in the foreground and has begun to arrive."""
        turn = self.repl.session.turn if self.repl.session else None
        return self.shell.busy is not None and turn is not None and turn.chars > 0


def console_for(buf: io.StringIO, kind: str) -> Console:
    """ "terminal": rich as on a terminal (live repaints, colours); "plain":
    --plain; otherwise rich writing to a file (no live region, no colour)."""
    if kind == "terminal":
        return Console(file=buf, width=100, height=30, force_terminal=True, markup=False)
    return make_console(buf, plain=kind == "plain", width=100)


@asynccontextmanager
async def open_shell(server: FakeServer, home: Path, kind: str) -> AsyncIterator[Harness]:
    """A shell at its prompt (``kind``: see ``console_for``), stopped after."""
    client = make_client(server, home)
    buf = io.StringIO()
    out = TerminalOutput(console_for(buf, kind), plain=kind == "plain")
    repl = Repl(client, out)
    await client.start()
    await repl.open_initial(None)
    with create_pipe_input() as inp:
        h = Harness(Shell(repl, out, input=inp, output=DummyOutput()), repl, inp, buf, home)
        h.task = asyncio.ensure_future(h.shell.run())
        try:
            await h.at_prompt()
            yield h
        finally:
            h.task.cancel()
            await asyncio.wait([h.task], timeout=GUARD)
            await repl.close()
