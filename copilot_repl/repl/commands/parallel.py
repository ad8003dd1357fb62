"""Commands for several replies at once: send in the background, ask several
sessions, list, cancel and wait for replies."""

from __future__ import annotations

from copilot_repl.errors import UsageError
from copilot_repl.repl.commands.base import CommandGroup
from copilot_repl.repl.parsing import Args, split_targets
from copilot_repl.repl.registry import BadArgs, command
from copilot_repl.repl.wording import count, excerpt, live_tokens


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
        ahead = session.busy  # then the controller says it is queued
        await self.repl.prompt(session, prompt.strip(), background=True)
        if self.out.interactive and not ahead:
            self.out.note(f"sent to {session.session_id}")

    @command(
        "all",
        usage=":all PROMPT",
        help="send PROMPT to every session, replies side by side",
        nargs=None,
    )
    async def all(self, args: str) -> None:
        """A session still answering gets the prompt queued behind its reply."""
        sessions = [await self._session(n) for n in self.client.store.names()]
        busy = [s.session_id for s in sessions if s.busy]
        if busy and args.strip():
            self.out.status(f"queued behind the reply running in {', '.join(busy)}")
        await self.repl.fanout(sessions, args)

    @command(
        "ask",
        usage=":ask A,B,... PROMPT",
        help="send PROMPT to the sessions named (A, B with spaces works too)",
        complete="session-list",
        nargs=None,
    )
    async def ask(self, args: str) -> None:
        wanted, prompt = split_targets(args)
        if not wanted or not prompt:
            raise BadArgs()
        sessions = [await self._session(n) for n in wanted]
        await self.repl.fanout(list({id(s): s for s in sessions}.values()), prompt)

    @command(
        "jobs",
        help="list replies streaming and prompts queued (~: tokens estimated until the end)",
    )
    async def jobs(self, a: Args) -> None:
        turns = [t for t in self.repl.turns() if not t.cancelled]
        if not turns:
            self.out.info("no replies running or queued")
            return
        rows = []
        place: dict[str, int] = {}
        for t in turns:
            state = str(t.state)
            if t.started is None:  # still waiting for its turn
                place[t.session_id] = place.get(t.session_id, 0) + 1
                state = f"queued #{place[t.session_id]}"
            elif t.session_id in self.repl.tool_policy.waiting:
                state = "waits for permission"
            when = f"{t.elapsed:.1f} s"
            model = self.repl.masks.model(t.session_id, t.model)
            rows.append([t.session_id, model, state, when, live_tokens(t), excerpt(t.prompt)])
        self.out.table(["session", "model", "state", "elapsed", "tokens", "prompt"], rows)

    @command(
        "cancel",
        usage=":cancel [NAME] [--queued | --all]",
        help=(
            "cancel the reply streaming (its partial is kept; prompts queued behind it "
            "still run); --queued drops the queued prompts instead, --all both"
        ),
        complete="session",
        flags={"--queued": "queued", "--all": "all"},
        switches=("queued", "all"),
        nargs=(0, 1),
    )
    async def cancel(self, a: Args) -> None:
        session = await self._session(a.positional[0]) if a.positional else self.repl.current
        name = session.session_id
        queued = [t for t in session.pending if not t.cancelled]
        running = session.turn is not None and session.turn.running
        drop_queue = bool(a.switches & {"queued", "all"})
        stop_reply = "queued" not in a.switches or "all" in a.switches
        if not (running and stop_reply) and not (queued and drop_queue):
            if queued:
                what = count(len(queued), "queued prompt")
                raise UsageError(
                    f"{name} has no reply streaming; :cancel {name} --queued drops {what}"
                )
            raise UsageError(f"{name} has no reply running or queued")
        said = []
        if drop_queue and queued:
            for turn in queued:
                turn.cancel()  # it will never start
            said.append(f"dropped {count(len(queued), 'queued prompt')} of {name}")
        if stop_reply and running:
            await session.cancel_reply()  # queued prompts stay (abort() drops them)
            said.append(f"cancelled the reply of {name}")
            if queued and not drop_queue:
                more = count(len(queued), "queued prompt")
                said.append(f"{more} still to run (:cancel {name} --queued drops them)")
        self.out.note("; ".join(said))

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
