"""Commands for several replies at once: send in the background, ask several
sessions, list, cancel and wait for replies."""

from __future__ import annotations

from copilot_repl.errors import UsageError
from copilot_repl.repl.commands.base import CommandGroup
from copilot_repl.repl.parsing import Args, split_names
from copilot_repl.repl.registry import BadArgs, command


class ParallelCommands(CommandGroup):
    @command(
        "send",
        usage=":send NAME PROMPT",
        help="send PROMPT to another session, in the background",
        complete="session",
        nargs=None,
    )
    async def send(self, args: str) -> None:
        name, _, prompt = args.strip().partition(" ")
        if not name or not prompt.strip():
            raise BadArgs()
        session = await self._session(name)
        await self.repl.prompt(session, prompt.strip(), background=True)
        if self.out.interactive:
            self.out.info(f"sent to {name}")

    @command(
        "all",
        usage=":all PROMPT",
        help="send PROMPT to every session, replies side by side",
        nargs=None,
    )
    async def all(self, args: str) -> None:
        sessions = [await self._session(n) for n in self.client.store.names()]
        await self.repl.fanout(sessions, args)

    @command(
        "ask",
        usage=":ask A,B,... PROMPT",
        help="send PROMPT to the sessions named",
        complete="session-list",
        nargs=None,
    )
    async def ask(self, args: str) -> None:
        names, _, prompt = args.strip().partition(" ")
        wanted = split_names(names)
        if not wanted or not prompt.strip():
            raise BadArgs()
        sessions = [await self._session(n) for n in dict.fromkeys(wanted)]
        await self.repl.fanout(sessions, prompt)

    @command("jobs", help="list replies streaming or queued")
    async def jobs(self, a: Args) -> None:
        turns = self.repl.turns()
        if not turns:
            self.out.info("no replies running")
            return
        rows = [
            [t.session_id, t.model, t.state, f"{t.elapsed:.1f} s", str(t.chars // 4)] for t in turns
        ]
        self.out.table(["session", "model", "state", "elapsed", "tokens"], rows)

    @command(
        "cancel",
        usage=":cancel [NAME]",
        help="cancel a reply (the partial is kept)",
        complete="session",
        nargs=(0, 1),
    )
    async def cancel(self, a: Args) -> None:
        session = await self._session(a.positional[0]) if a.positional else self.repl.current
        if session.turn is None or not session.turn.running:
            raise UsageError(f"{session.session_id} has no reply running")
        await session.abort()
        self.out.info(f"cancelled the reply of {session.session_id}")

    @command(
        "wait",
        usage=":wait [NAME...]",
        help="wait for background replies to finish",
        complete="sessions",
        nargs=(0, None),
    )
    async def wait(self, a: Args) -> None:
        sessions = [await self._session(n) for n in a.positional] if a.positional else None
        await self.repl.wait_for(sessions)
