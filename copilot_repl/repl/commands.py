"""The ``:commands``. Each is one method, registered with ``@command``."""

from __future__ import annotations

import asyncio
import os
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from copilot_repl.errors import StoreError, UsageError
from copilot_repl.history.messages import DONE
from copilot_repl.history.names import validate_name
from copilot_repl.repl.parsing import parse_args, split_names
from copilot_repl.repl.registry import command

if TYPE_CHECKING:
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.api.turn import Job
    from copilot_repl.repl.controller import Repl

KEYS_HELP = [
    ("Tab / Shift-Tab", "on an empty line: next / previous session"),
    ("Ctrl-C", "cancel the reply that is streaming (the partial reply is kept)"),
    ("Ctrl-Z", "send the streaming reply to the background"),
    ("Esc Enter", "insert a newline (multi-line prompt)"),
    ("PROMPT &", "send PROMPT in the background"),
    ("::text", "send a prompt that starts with ':'"),
    ("Ctrl-D", "quit"),
]


class Commands:
    """Command handlers; ``Registry(Commands(repl))`` collects them."""

    def __init__(self, repl: Repl) -> None:
        self.repl = repl

    @property
    def out(self):  # type: ignore[no-untyped-def]
        return self.repl.out

    @property
    def client(self):  # type: ignore[no-untyped-def]
        return self.repl.client

    async def _session(self, name: str) -> CopilotSession:
        validate_name(name)
        self.repl.check_session_exists(name)
        session: CopilotSession = await self.client.resume_session(name)
        return session

    # -- sessions -------------------------------------------------------
    @command(
        "new",
        usage=":new [NAME] [--model M] [--system TEXT]",
        help="create a session and switch to it (no name: a free one is picked)",
        complete="model",
        flags=("--model", "--system"),
    )
    async def new(self, args: str) -> None:
        a = parse_args(
            args,
            {"--model": "model", "-m": "model", "--system": "system", "-s": "system"},
            max_pos=1,
            usage=":new [NAME] [--model M] [--system TEXT]",
        )
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
    )
    async def switch(self, args: str) -> None:
        a = parse_args(args, max_pos=1, min_pos=1, usage=":switch NAME")
        await self.repl.switch_to(await self._session(a.positional[0]))

    @command("next", help="switch to the next session (Tab on an empty line)")
    async def next(self, args: str) -> None:
        await self.repl.switch_by(1)

    @command("prev", help="switch to the previous session (Shift-Tab on an empty line)")
    async def prev(self, args: str) -> None:
        await self.repl.switch_by(-1)

    @command(
        "ls",
        help="list sessions: current marked *, model, messages, last modified",
        aliases=("list",),
    )
    async def ls(self, args: str) -> None:
        parse_args(args, max_pos=0, usage=":ls")
        cur = self.repl.session.session_id if self.repl.session else ""
        rows = []
        for s in sorted(self.client.store.summaries(), key=lambda s: s.name):
            state = ""
            opened = self.client.opened(s.name)
            if opened is not None and opened.state != "idle":
                state = opened.state
            rows.append(
                [
                    "*" if s.name == cur else " ",
                    s.name,
                    s.model,
                    str(s.messages),
                    _when(s.modified),
                    state,
                ]
            )
        self.out.table(["", "session", "model", "msgs", "modified", "state"], rows)

    @command(
        "rm",
        usage=":rm NAME...",
        help="delete sessions for good",
        aliases=("delete",),
        complete="sessions",
    )
    async def rm(self, args: str) -> None:
        names = parse_args(args, min_pos=1, usage=":rm NAME...").positional
        for name in names:
            validate_name(name)
            self.repl.check_session_exists(name)
        for name in names:
            await self.client.delete_session(name)
            self.out.info(f"deleted {name}")
        if self.repl.session and self.repl.session.session_id in names:
            self.repl.session = None
            rest = await self.client.list_sessions()
            if rest:
                await self.repl.switch_to(await self.client.resume_session(rest[0]["session_id"]))
            else:
                await self.repl.switch_to(await self.client.create_session(session_id="main"))
            self.out.info(f"now in {self.repl.current.session_id}")

    @command("rename", usage=":rename NEW", help="rename the current session")
    async def rename(self, args: str) -> None:
        new = parse_args(args, min_pos=1, max_pos=1, usage=":rename NEW").positional[0]
        old = self.repl.current.session_id
        await self.client.rename_session(old, new)
        self.client.store.set_current(new)
        self.client.current = new
        self.out.info(f"renamed {old} to {new}")

    @command(
        "model",
        usage=":model [M]",
        help="show or set the current session's model",
        complete="model",
    )
    async def model(self, args: str) -> None:
        a = parse_args(args, max_pos=1, usage=":model [PROVIDER:]MODEL")
        session = self.repl.current
        if a.positional:
            session.set_model(self.client.config.resolve_model(a.positional[0]))
        self.out.info(f"{session.session_id} uses {session.model}")

    @command("models", usage=":models [PROVIDER]", help="list the models a provider offers")
    async def models(self, args: str) -> None:
        a = parse_args(args, max_pos=1, usage=":models [PROVIDER]")
        name = a.positional[0] if a.positional else self.repl.current.model.partition(":")[0]
        for model in await self.client.provider(name).list_models():
            self.out.info(f"{name}:{model}")

    @command("system", usage=":system [TEXT]", help="show or set the system prompt")
    async def system(self, args: str) -> None:
        session = self.repl.current
        if args.strip():
            session.set_system(args.strip())
        self.out.info(session.system_message or "(no system prompt)")

    @command("history", usage=":history [N]", help="show the last N messages (all by default)")
    async def history(self, args: str) -> None:
        a = parse_args(args, max_pos=1, usage=":history [N]")
        session = self.repl.current
        session.refresh()
        msgs = session.messages
        if a.positional:
            n = _positive(a.positional[0], ":history [N]")
            msgs = msgs[-n:]
        if not msgs:
            self.out.info("(no messages yet)")
        for m in msgs:
            mark = "" if m.status == DONE else f" [{m.status}]"
            self.out.message(m.role, m.content, f"{m.role}{mark}")

    @command("clear", help="forget the current session's messages (asks nothing, keeps model)")
    async def clear(self, args: str) -> None:
        parse_args(args, max_pos=0, usage=":clear")
        self.repl.current.clear()
        self.out.info(f"cleared {self.repl.current.session_id}")

    @command("retry", help="regenerate the last reply")
    async def retry(self, args: str) -> None:
        parse_args(args, max_pos=0, usage=":retry")
        session = self.repl.current
        job = await session.retry()
        await self.repl.follow(session, job)

    @command(
        "export",
        usage=":export [PATH]",
        help="write the session as Markdown (to PATH)",
        complete="path",
    )
    async def export(self, args: str) -> None:
        a = parse_args(args, max_pos=1, usage=":export [PATH]")
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

    # -- parallel -------------------------------------------------------
    @command(
        "send",
        usage=":send NAME PROMPT",
        help="send PROMPT to another session, in the background",
        complete="session",
    )
    async def send(self, args: str) -> None:
        name, _, prompt = args.strip().partition(" ")
        if not name or not prompt.strip():
            raise UsageError("usage: :send NAME PROMPT")
        session = await self._session(name)
        await self.repl.prompt(session, prompt.strip(), background=True)
        if self.out.interactive:
            self.out.info(f"sent to {name}")

    @command("all", usage=":all PROMPT", help="send PROMPT to every session, replies side by side")
    async def all(self, args: str) -> None:
        sessions = [await self._session(n) for n in self.client.store.names()]
        await self.repl.fanout(sessions, args)

    @command(
        "ask",
        usage=":ask A,B,... PROMPT",
        help="send PROMPT to the sessions named",
        complete="session-list",
    )
    async def ask(self, args: str) -> None:
        names, _, prompt = args.strip().partition(" ")
        wanted = split_names(names)
        if not wanted or not prompt.strip():
            raise UsageError("usage: :ask A,B,... PROMPT")
        sessions = [await self._session(n) for n in dict.fromkeys(wanted)]
        await self.repl.fanout(sessions, prompt)

    @command("jobs", help="list replies streaming or queued")
    async def jobs(self, args: str) -> None:
        parse_args(args, max_pos=0, usage=":jobs")
        jobs = self.client.jobs()
        if not jobs:
            self.out.info("no replies running")
            return
        rows = [
            [j.session_id, j.model, j.state, f"{j.elapsed:.1f} s", str(j.chars // 4)] for j in jobs
        ]
        self.out.table(["session", "model", "state", "elapsed", "tokens"], rows)

    @command(
        "cancel",
        usage=":cancel [NAME]",
        help="cancel a reply (the partial is kept)",
        complete="session",
    )
    async def cancel(self, args: str) -> None:
        a = parse_args(args, max_pos=1, usage=":cancel [NAME]")
        session = await self._session(a.positional[0]) if a.positional else self.repl.current
        if session.job is None or not session.job.running:
            raise UsageError(f"{session.session_id} has no reply running")
        await session.abort()
        self.out.info(f"cancelled the reply of {session.session_id}")

    @command(
        "wait",
        usage=":wait [NAME...]",
        help="wait for background replies to finish",
        complete="sessions",
    )
    async def wait(self, args: str) -> None:
        names = parse_args(args, usage=":wait [NAME...]").positional
        if names:
            sessions = [await self._session(n) for n in names]
            jobs = [s.job for s in sessions if s.job is not None]
        else:
            jobs = self.client.jobs()
        await self.wait_for(jobs)

    async def wait_for(self, jobs: list[Job]) -> None:
        tasks = [j.task for j in jobs if j.task is not None]
        if tasks:
            await asyncio.gather(*(asyncio.shield(t) for t in tasks), return_exceptions=True)
        if not self.out.interactive:
            for job in jobs:
                session = self.client.opened(job.session_id)
                if session is not None and session.unread and job.background:
                    self.out.message("assistant", job.text, f"{job.session_id} ({job.model})")
                    session.unread = False

    # -- misc -----------------------------------------------------------
    @command(
        "help",
        usage=":help [COMMAND]",
        help="show commands, or one command's help",
        aliases=("h", "?"),
        complete="command",
    )
    async def help(self, args: str) -> None:
        a = parse_args(args, max_pos=1, usage=":help [COMMAND]")
        if a.positional:
            cmd = self.repl.registry.lookup(a.positional[0].lstrip(":"))
            self.out.info(f"{cmd.usage}\n  {cmd.help}")
            return
        rows = [[u, h] for u, h in self.repl.registry.help_lines()]
        if self.out.interactive:
            rows += [[k, h] for k, h in KEYS_HELP]
        self.out.table(["command", "what it does"], rows)

    @command("quit", help="leave (Ctrl-D too)", aliases=("q", "exit"))
    async def quit(self, args: str) -> None:
        self.repl.quitting = True


def transcript(session: CopilotSession) -> str:
    """The session as a Markdown document (never includes any key)."""
    lines = [f"# {session.session_id}", "", f"- model: `{session.model}`"]
    if session.system_message:
        lines.append(f"- system: {session.system_message}")
    lines.append("")
    for m in session.messages:
        mark = "" if m.status == DONE else f" ({m.status})"
        lines += [f"## {m.role}{mark}", "", m.content, ""]
    return "\n".join(lines)


def _when(ts: float) -> str:
    if not ts:
        return "-"
    dt = datetime.fromtimestamp(ts)
    if time.time() - ts < 86400:
        return dt.strftime("%H:%M")
    return dt.strftime("%Y-%m-%d")


def _positive(text: str, usage: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise UsageError(f"expected a positive number, got {text!r}; usage: {usage}")
    return n
