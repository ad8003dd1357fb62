"""Commands on sessions: create, switch, list, delete, rename, model,
system prompt, history, clear, retry, export."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

from copilot_repl.errors import StoreError
from copilot_repl.history.names import validate_name
from copilot_repl.repl.commands.base import CommandGroup, positive
from copilot_repl.repl.parsing import Args
from copilot_repl.repl.registry import command
from copilot_repl.repl.transcript import transcript


class SessionCommands(CommandGroup):
    @command(
        "new",
        usage=":new [NAME] [--model M] [--system TEXT]",
        help="create a session and switch to it (no name: a free one is picked)",
        complete="model",
        flags={"--model": "model", "-m": "model", "--system": "system", "-s": "system"},
        nargs=(0, 1),
    )
    async def new(self, a: Args) -> None:
        opts: dict[str, str] = {}
        if a.positional:
            opts["session_id"] = a.positional[0]
        if "model" in a.flags:
            opts["model"] = a.flags["model"]
        if "system" in a.flags:
            opts["system_message"] = a.flags["system"]
        session = await self.client.create_session(opts)
        await self.repl.switch_to(session)
        self.out.info(f"created {session.session_id} ({session.model})")

    @command(
        "switch",
        usage=":switch NAME",
        help="switch to a session",
        aliases=("s",),
        complete="session",
        nargs=(1, 1),
    )
    async def switch(self, a: Args) -> None:
        await self.repl.switch_to(await self._session(a.positional[0]))

    @command("next", help="switch to the next session (Tab on an empty line)", nargs=None)
    async def next(self, args: str) -> None:
        await self.repl.switch_by(1)

    @command("prev", help="switch to the previous session (Shift-Tab on an empty line)", nargs=None)
    async def prev(self, args: str) -> None:
        await self.repl.switch_by(-1)

    @command(
        "ls",
        help="list sessions: current marked *, model, messages, last modified",
        aliases=("list",),
    )
    async def ls(self, a: Args) -> None:
        cur = self.repl.current_name
        rows = []
        for s in sorted(self.client.store.summaries(), key=lambda s: s.name):
            state = self.repl.display_state(s.name)
            rows.append(
                [
                    "*" if s.name == cur else " ",
                    s.name,
                    s.model,
                    str(s.messages),
                    _when(s.modified),
                    "" if state == "idle" else state,
                ]
            )
        self.out.table(["", "session", "model", "msgs", "modified", "state"], rows)

    @command(
        "rm",
        usage=":rm NAME...",
        help="delete sessions for good",
        aliases=("delete",),
        complete="sessions",
        nargs=(1, None),
    )
    async def rm(self, a: Args) -> None:
        names = a.positional
        for name in names:
            validate_name(name)
            self.repl.check_session_exists(name)
        for name in names:
            await self.client.delete_session(name)
            self.repl.forget(name)
            self.out.info(f"deleted {name}")
        if self.repl.current_name in names:
            self.repl.session = None
            rest = await self.client.list_sessions()
            if rest:
                await self.repl.switch_to(await self.client.resume_session(rest[0]["session_id"]))
            else:
                await self.repl.switch_to(await self.client.create_session(session_id="main"))
            self.out.info(f"now in {self.repl.current.session_id}")

    @command("rename", usage=":rename NEW", help="rename the current session", nargs=(1, 1))
    async def rename(self, a: Args) -> None:
        new = a.positional[0]
        old = self.repl.current.session_id
        await self.client.rename_session(old, new)
        self.repl.renamed(old, new)
        self.out.info(f"renamed {old} to {new}")

    @command(
        "model",
        usage=":model [PROVIDER:]MODEL",
        help="show or set the current session's model",
        complete="model",
        nargs=(0, 1),
    )
    async def model(self, a: Args) -> None:
        session = self.repl.current
        if a.positional:
            await session.set_model(self.client.config.resolve_model(a.positional[0]))
        self.out.info(f"{session.session_id} uses {session.model}")

    @command(
        "models", usage=":models [PROVIDER]", help="list the models a provider offers", nargs=(0, 1)
    )
    async def models(self, a: Args) -> None:
        name = a.positional[0] if a.positional else self.repl.current.model.partition(":")[0]
        for model in await self.client.provider(name).list_models():
            self.out.info(f"{name}:{model}")

    @command("system", usage=":system [TEXT]", help="show or set the system prompt", nargs=None)
    async def system(self, args: str) -> None:
        session = self.repl.current
        if args.strip():
            session.set_system(args.strip())
        self.out.info(session.system_message or "(no system prompt)")

    @command(
        "history",
        usage=":history [N]",
        help="show the last N messages (all by default)",
        nargs=(0, 1),
    )
    async def history(self, a: Args) -> None:
        session = self.repl.current
        session.refresh()
        msgs = session.messages
        if a.positional:
            msgs = msgs[-positive(a.positional[0]) :]
        if not msgs:
            self.out.info("(no messages yet)")
        for m in msgs:
            mark = "" if m.status == "done" else f" [{m.status}]"
            self.out.message(m.role, m.content, f"{m.role}{mark}")

    @command("clear", help="forget the current session's messages (asks nothing, keeps model)")
    async def clear(self, a: Args) -> None:
        self.repl.current.clear()
        self.out.info(f"cleared {self.repl.current.session_id}")

    @command("retry", help="regenerate the last reply")
    async def retry(self, a: Args) -> None:
        session = self.repl.current
        turn = await session.retry()
        await self.repl.follow(session, turn)

    @command(
        "export",
        usage=":export [PATH]",
        help="write the session as Markdown (to PATH)",
        complete="path",
        nargs=(0, 1),
    )
    async def export(self, a: Args) -> None:
        text = transcript(self.repl.current)
        if not a.positional:
            self.out.info(text)
            return
        path = Path(a.positional[0]).expanduser()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
        except OSError as exc:
            raise StoreError(f"cannot write {path}: {exc.strerror or exc}") from None
        self.out.info(f"exported {self.repl.current.session_id} to {path}")


def _when(ts: float) -> str:
    if not ts:
        return "-"
    dt = datetime.fromtimestamp(ts)
    if time.time() - ts < 86400:
        return dt.strftime("%H:%M")
    return dt.strftime("%Y-%m-%d")
