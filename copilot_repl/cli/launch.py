"""What the command line asks of the session being opened: ``--model`` and
``--base-url`` apply to it (it is switched, and the switch is said on
stderr), never silently ignored."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from copilot_repl.cli.arguments import make_config
from copilot_repl.errors import BadUsage, ReplError, SessionNotFound
from copilot_repl.sanitize import clean

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.api.session import CopilotSession
    from copilot_repl.config import Config
    from copilot_repl.history.messages import Message
    from copilot_repl.history.store import Store
    from copilot_repl.history.summaries import Summary


def choose_session(
    args: argparse.Namespace,
    env: Mapping[str, str],
    stdin: IO[Any],
    stdout: IO[str],
    *,
    interactive: bool,
) -> str | None:
    """The session ``-c`` (the most recently modified, whatever made it) or
    ``-r [NAME]`` (NAME, or one picked from a list on a terminal) means."""

    if args.session:
        raise BadUsage("give --session, -c or -r: one of them")
    if args.cont and args.resume is not None:
        raise BadUsage("give -c or -r, not both")
    # start-up: the store alone, not the client (the first frame comes first)
    from copilot_repl.history.store import Store

    store = Store(make_config(args, env).data_dir)
    store.ensure()  # a data dir that cannot be made or entered: one line, exit 2
    if args.resume:
        if not store.exists(args.resume):
            raise SessionNotFound(f"no session named {args.resume!r} to resume")
        return str(args.resume)
    recent = sorted(store.summaries(), key=lambda s: -s.modified)
    if args.cont:
        return recent[0].name if recent else None  # none yet: as without -c
    if not interactive:
        raise BadUsage("-r without NAME picks from a list on a terminal; give NAME")
    return pick(store, recent[:PICK], stdin, stdout)


PICK = 20  # sessions the -r list offers


def pick(store: Store, recent: list[Summary], stdin: IO[Any], stdout: IO[str]) -> str | None:
    """Number the sessions (1: the newest) with a preview of each one's last
    exchange; read a number or a name (empty: none). On a terminal, the
    newest are next to the question, as many as it shows, each line on one
    row (the newest scrolled off the top of a short pane)."""
    from copilot_repl.repl.wording import count, excerpt  # start-up: only the picker needs it

    if not recent:
        stdout.write("no saved sessions yet\n")
        return None
    size = _terminal_size(stdout)
    cols, rows = (80, 0) if size is None else (size.columns, size.lines)
    width = max(min(70, cols - 10), 10)  # a preview's text: 9 columns before it
    entries: list[list[str]] = []
    used = 2  # the question, and the line saying older ones are left out
    for i, s in enumerate(recent, 1):
        lines = [f"{i:>3}  {clean(s.name)}  {s.model}  {s.messages} msgs"[: cols - 1]]
        for m in store.load(s.name).data.messages[-2:]:
            mark = "›" if m.role == "user" else "‹"
            lines.append(f"       {mark} {clean(excerpt(m.content, width))}")
        if rows and entries and used + len(lines) > rows:
            break
        entries.append(lines)
        used += len(lines)
    if len(entries) < len(recent):
        left = len(recent) - len(entries)
        said = f"  … {count(left, 'older session')} not shown: type a name to resume one"
        stdout.write(said[: cols - 1] + "\n")
    for lines in reversed(entries):  # the newest next to the question
        stdout.write("".join(line + "\n" for line in lines))
    try:  # a Ctrl-C as soon as the question shows lands here too
        stdout.write("resume which (number or name; Enter: none)? ")
        stdout.flush()
        line = str(stdin.readline())
    except KeyboardInterrupt:
        stdout.write("\n")  # the next prompt on a line of its own
        raise
    if not line.endswith("\n"):
        stdout.write("\n")  # Ctrl-D: as above
    answer = line.strip()
    if not answer:
        return None
    if answer.isdigit() and 1 <= int(answer) <= len(recent):
        return recent[int(answer) - 1].name
    if store.exists(answer):
        return answer
    raise SessionNotFound(f"no session {answer!r} in the list")


def _terminal_size(stream: IO[str]) -> os.terminal_size | None:
    """The size of the terminal ``stream`` writes to (None: not a terminal)."""
    try:
        return os.get_terminal_size(stream.fileno())
    except (OSError, ValueError):
        return None


def session_to_open(store: Store, name: str | None) -> str | None:
    """The existing session ``--model``, ``--base-url`` and ``-s`` apply to:
    ``--session NAME``, else the one the front end reopens (the last active
    one, else the newest a person made: not a one-shot's); None: a new one."""
    if name:
        return name if store.exists(name) else None
    return next(store.reopen_candidates(), None)


def wanted_model(config: Config, args: argparse.Namespace, current: str) -> str | None:
    """The model the command line asks for, if it differs from ``current``."""
    if args.model:
        target = config.resolve_model(args.model)
    elif args.base_url:
        # --base-url configures the openai provider: a session on it keeps its model
        if current.partition(":")[0] == "openai":
            return None
        target = config.resolve_model("openai")
    else:
        return None
    return target if target != current else None


async def apply_model_options(
    client: CopilotClient,
    args: argparse.Namespace,
    stderr: IO[str],
    name: str | None = None,
) -> CopilotSession | None:
    """Switch the session about to be opened to the model (and system
    prompt) the command line names; returns it if it was opened here."""
    if not (args.model or args.base_url or args.system):
        return None
    target_name = session_to_open(client.store, name or args.session)
    if target_name is None:
        return None  # a new session: it is created with the new default model
    try:
        session = await client.resume_session(target_name)
    except ReplError:
        if name or args.session:
            raise  # asked for by name: its error is the answer
        return None  # the last session does not open: the front end says so, opens another
    target = (
        wanted_model(client.config, args, session.model) if args.model or args.base_url else None
    )
    if target is not None:
        await session.set_model(target)
        stderr.write(f"copilot-repl: {target_name} now uses {session.model}\n")
    if args.system and args.system != session.system_message:
        session.set_system(args.system)
        stderr.write(f"copilot-repl: {target_name} has a new system prompt (-s)\n")
    return session


class Opening(NamedTuple):
    """The session the shell will open, as its first frame shows it."""

    name: str
    model: str  # as the prompt shows it ("openai:…" while the server is asked)
    messages: Sequence[Message]


def opening(args: argparse.Namespace, config: Config, store: Store) -> Opening | None:
    """What the shell will open (as ``Repl.open_initial``, after
    ``apply_model_options``), read from the files alone, before the client
    loads; the session read is kept for the client (``Store.keep``). None
    when the files cannot tell, or when something is said before the
    prompt: a warning, a session that does not open, a model or system
    prompt switched by the command line, the trash purged (``trash_days``),
    a blind comparison pending (whose models must not be shown)."""
    held = [BLINDS] + ([TRASH] if config.trash_days > 0 else [])
    try:
        if any(_entries(store.root / d) for d in held):
            return None
        store.ensure()
        name = args.session or next(store.reopen_candidates(), None)
        if name is None or (args.session and not store.exists(name)):
            new = name or "main"
            if name is None and new in store.names():
                return None  # "main" is a one-shot's: the shell picks a free name
            model = config.resolve_model("")
            if config.discover_model:  # asked of the server when it is made
                model = f"{model.partition(':')[0]}:{PENDING}"
            return None if store.warnings else Opening(new, model, ())
        loaded = store.load(name)
        switching = args.model or args.base_url or args.system
        target = session_to_open(store, args.session) if switching else None
    except ReplError:
        return None  # said by the shell, before its prompt
    data = loaded.data
    if loaded.warnings or store.warnings:
        return None
    if target is not None:  # apply_model_options: nothing to say about it
        if target != name or (args.system and args.system != data.system):
            return None
        if (args.model or args.base_url) and wanted_model(config, args, data.model) is not None:
            return None
    store.keep(loaded)
    return Opening(name, data.model, data.messages)


PENDING = "…"  # the model's name, while it is not known
# the data dir's pending blind comparisons and its trash (history/blinds.py's
# SUBDIR, history/trash.py's TRASH: not imported before the first frame)
BLINDS, TRASH = "blind", "trash"


def _entries(path: Path) -> bool:
    """Whether the directory ``path`` holds anything."""
    try:
        with os.scandir(path) as found:
            return any(True for _ in found)
    except FileNotFoundError:
        return False
    except OSError:
        return True  # the shell will say
