"""Commands on sessions: create, switch, list, delete, rename, model,
system prompt, history, clear, retry, export."""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path

from copilot_repl.errors import StoreError, UsageError
from copilot_repl.history.files import write_output
from copilot_repl.history.log import frozen
from copilot_repl.repl.commands.base import CommandGroup, positive
from copilot_repl.repl.commands.library import (
    clear_session,
    history_view,
    message_number,
    remove_sessions,
    show_around,
    tree_rows,
)
from copilot_repl.repl.parsing import Args, natural_key
from copilot_repl.repl.registry import command
from copilot_repl.repl.transcript import transcript, transcript_pieces
from copilot_repl.repl.wording import count


class SessionCommands(CommandGroup):
    @command(
        "new",
        usage=":new [NAME] [--model M] [--system TEXT] [--role R] [--tools MCP,MCP]",
        help=(
            "create a session and switch to it (no name: a free one is picked; --role: "
            "the model and system prompt of [roles.R] in the config; --tools: the MCP "
            "servers of config.toml whose tools it may call)"
        ),
        complete="model",
        flags={
            "--model": "model",
            "-m": "model",
            "--system": "system",
            "-s": "system",
            "--role": "role",
            "--tools": "tools",
        },
        nargs=(0, 1),
    )
    async def new(self, a: Args) -> None:
        opts: dict[str, str] = {}
        if a.positional:
            opts["session_id"] = a.positional[0]
        role = self.client.config.role(a.flags["role"]) if "role" in a.flags else None
        model = a.flags.get("model") or (role.model if role else "")
        system = a.flags.get("system") or (role.system if role else "")
        if model:
            opts["model"] = model
        if system:
            opts["system_message"] = system
        servers = [n for n in a.flags.get("tools", "").split(",") if n]
        if servers:  # checked before the session is made: a wrong name makes none
            await self.client.mcp_tools(servers)
        session = await self.client.create_session(opts)
        if servers:
            await self.repl.equip(session, servers)
        await self.repl.switch_to(session)
        as_role = f", role {role.name}" if role else ""
        self.out.note(f"created {session.session_id} ({session.model}{as_role})")
        if role and role.params:
            keys = ", ".join(role.params)
            self.out.status(
                f"role {role.name}'s params ({keys}) apply to one-shots (--role); "
                "here the provider's params do"
            )

    @command(
        "switch",
        usage=":switch NAME[@N]",
        help=(
            "switch to a session and show its last exchange (@N: its message N, as :find "
            "lists them)"
        ),
        aliases=("s",),
        complete="session",
        nargs=(1, 1),
    )
    async def switch(self, a: Args) -> None:
        name, at, n = a.positional[0].partition("@")
        session = await self._session(name)
        running = session.turn is not None and session.turn.running
        shown = running or session.session_id in self.repl.unseen  # switch_to shows those
        await self.repl.switch_to(session, show=not at)
        if at:
            show_around(self.out, self.repl.current, message_number(n))
        elif not shown and self.out.interactive:
            msgs = session.messages
            start = next((i for i in range(len(msgs) - 1, -1, -1) if msgs[i].role == "user"), 0)
            for i in range(start, len(msgs)):  # where the conversation stands
                self.out.message(msgs[i].role, msgs[i].content, f"{i + 1}. {msgs[i].role}")

    @command("next", help="switch to the next session (Tab on an empty line)", nargs=None)
    async def next(self, args: str) -> None:
        await self.repl.switch_by(1)

    @command("prev", help="switch to the previous session (Shift-Tab on an empty line)", nargs=None)
    async def prev(self, args: str) -> None:
        await self.repl.switch_by(-1)

    @command(
        "ls",
        usage=":ls [--tree] [--all]",
        help=(
            "list sessions: current marked *, model, messages, last modified (--tree: forks; "
            "--all: also those one-shots and :compare made)"
        ),
        aliases=("list",),
        flags={"--tree": "tree", "--all": "all"},
        switches=("tree", "all"),
    )
    async def ls(self, a: Args) -> None:
        if "tree" in a.switches:
            self.out.table(["", "session (@forked at)", "model", "msgs"], tree_rows(self))
            return
        cur = self.repl.current_name
        rows = []
        every = "all" in a.switches
        summaries = self.client.store.summaries()
        hidden = [s for s in summaries if s.origin and s.name != cur]
        if not every:
            summaries = [s for s in summaries if not s.origin or s.name == cur]
        masks, now = self.repl.masks.shown(), time.time()
        for s in sorted(summaries, key=lambda s: natural_key(s.name)):
            state = self.repl.display_state(s.name)
            state = "waits for permission" if state == "permission" else state
            rows.append(
                [
                    "*" if s.name == cur else " ",
                    s.name,
                    masks.model(s.name, s.model),
                    str(s.messages),
                    _when(s.modified, now),
                    "" if state == "idle" else state,
                ]
            )
        self.out.table(["", "session", "model", "msgs", "modified", "state"], rows)
        if hidden and not every:
            what = count(len(hidden), "more session")
            self.out.status(f"{what} from one-shots and comparisons: :ls --all lists them")

    @command(
        "rm",
        usage=":rm NAME... [--purge]",
        help="move sessions to the trash (:restore undoes it; --purge: delete for good)",
        aliases=("delete",),
        complete="sessions",
        flags={"--purge": "purge"},
        switches=("purge",),
        nargs=(1, None),
    )
    async def rm(self, a: Args) -> None:
        names = list(dict.fromkeys(self._resolve(name) for name in a.positional))  # exact names
        said = await remove_sessions(self, names, purge="purge" in a.switches)
        if self.repl.current_name in names:
            self.repl.session = None
            rest = await self.client.list_sessions()
            if rest:
                await self.repl.switch_to(await self.client.resume_session(rest[0]["session_id"]))
                said += f"; now in {self.repl.current.session_id}"
            else:
                await self.repl.switch_to(await self.client.create_session(session_id="main"))
                said += f"; no session left, so a new empty {self.repl.current.session_id}"
        self.out.note(said)

    @command("rename", usage=":rename NEW", help="rename the current session", nargs=(1, 1))
    async def rename(self, a: Args) -> None:
        new = a.positional[0]
        old = self.repl.current.session_id
        if new == old:
            self.out.note(f"{old} is already called {new}")
            return
        await self.client.rename_session(old, new)
        self.repl.renamed(old, new)
        self.out.note(f"renamed {old} to {new}")

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
        model = self.repl.masks.model(session.session_id, session.model)
        self.out.note(f"{session.session_id} uses {model}")

    @command(
        "models",
        usage=":models [PROVIDER]",
        help="list the models a provider offers (then :model and --model complete them)",
        complete="provider",
        nargs=(0, 1),
    )
    async def models(self, a: Args) -> None:
        name = a.positional[0] if a.positional else self.repl.current.model.partition(":")[0]
        name = name.rstrip(":")
        models = await self.client.provider(name).list_models()
        self.repl.known_models[name] = models  # completion offers them for :model, --model
        for model in sorted(models):
            self.out.info(f"{name}:{model}")

    @command("system", usage=":system [TEXT]", help="show or set the system prompt", nargs=None)
    async def system(self, args: str) -> None:
        session = self.repl.current
        if args.strip():
            session.set_system(args.strip())
        self.out.info(session.system_message or "(no system prompt)")

    @command(
        "history",
        usage=":history [N] [--all]",
        help=(
            "show the last N messages, numbered (all by default; --all: also those a "
            "summary replaced)"
        ),
        flags={"--all": "all"},
        switches=("all",),
        nargs=(0, 1),
    )
    async def history(self, a: Args) -> None:
        session = self.repl.current
        session.refresh()
        last = positive(a.positional[0]) if a.positional else None
        shown = history_view(
            self.client.store, session, all_messages="all" in a.switches, last=last
        )
        if not session.messages:
            self.out.info("(no messages yet)")
        for role, text, label in shown:
            self.out.message(role, text, label)

    @command(
        "clear",
        usage=":clear [--purge]",
        help="move the current session's messages to the trash (--purge: off the disk for good)",
        flags={"--purge": "purge"},
        switches=("purge",),
    )
    async def clear(self, a: Args) -> None:
        self.out.note(clear_session(self.repl.current, purge="purge" in a.switches))

    @command("retry", help="regenerate the last reply")
    async def retry(self, a: Args) -> None:
        session = self.repl.current
        turn = await session.retry()
        await self.repl.follow(session, turn)

    @command(
        "export",
        usage=":export [PATH | DIR] [--force]",
        help=(
            "write the session as Markdown: to stdout, to PATH, or to DIR/NAME.md; "
            "asks before overwriting (script mode: only with --force)"
        ),
        complete="path",
        flags={"--force": "force", "-f": "force"},
        switches=("force",),
        nargs=(0, 1),
    )
    async def export(self, a: Args) -> None:
        session = self.repl.current
        model = self.repl.masks.model(session.session_id, session.model)
        if not a.positional:
            self.out.info(transcript(session, model))
            return
        # as it is now (not after the question below), written as it is read
        # back: a long session is never in memory whole
        pieces = transcript_pieces(
            session.session_id,
            model or session.model,
            session.system_message,
            frozen(session.messages),
        )
        given = a.positional[0]
        path = Path(given).expanduser()
        if path.is_dir() or given.endswith(os.sep):
            path = path / f"{session.session_id}.md"
        overwrite = "force" in a.switches
        if not overwrite and (path.exists() or path.is_symlink()):
            if not await self._may_overwrite(path):
                return
            overwrite = True
        try:
            write_output(path, pieces, overwrite=overwrite)
        except FileExistsError:  # made meanwhile
            raise StoreError(f"{path} was created meanwhile; nothing written") from None
        self.out.note(f"exported {session.session_id} to {path}")

    async def _may_overwrite(self, path: Path) -> bool:
        """The shell asks; script mode refuses (``--force`` overwrites)."""
        if not self.out.interactive:
            again = shlex.quote(str(path))
            raise UsageError(f"{path} already exists; :export {again} --force overwrites it")
        if await self.out.confirm(f"{path} already exists; overwrite it? [y/N] "):
            return True
        self.out.note("not exported")
        return False


def _when(ts: float, now: float) -> str:
    if not ts:
        return "-"
    return time.strftime("%H:%M" if now - ts < 86400 else "%Y-%m-%d", time.localtime(ts))
