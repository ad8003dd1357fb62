"""What the command line asks of the session being opened: ``--model`` and
``--base-url`` apply to it (it is switched, and the switch is said on
stderr), never silently ignored."""

from __future__ import annotations

import argparse
from typing import IO, TYPE_CHECKING

from copilot_repl.errors import ReplError

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient
    from copilot_repl.api.session import CopilotSession


async def session_to_open(client: CopilotClient, name: str | None) -> str | None:
    """The existing session a front end will open: ``--session NAME``, else
    the last active one, else the most recently modified (None: a new one)."""
    store = client.store
    if name:
        return name if store.exists(name) else None
    name = store.current()
    if name is None:
        infos = await client.list_sessions()
        name = infos[0].session_id if infos else None
    return name


def wanted_model(client: CopilotClient, args: argparse.Namespace, current: str) -> str | None:
    """The model the command line asks for, if it differs from ``current``."""
    if args.model:
        target = client.config.resolve_model(args.model)
    elif args.base_url:
        # --base-url configures the openai provider: a session on it keeps its model
        if current.partition(":")[0] == "openai":
            return None
        target = client.config.resolve_model("openai")
    else:
        return None
    return target if target != current else None


async def apply_model_options(
    client: CopilotClient,
    args: argparse.Namespace,
    stderr: IO[str],
    name: str | None = None,
) -> CopilotSession | None:
    """Switch the session about to be opened to the model the command line
    names; returns it if it was opened here."""
    if not (args.model or args.base_url):
        return None
    target_name = await session_to_open(client, name or args.session)
    if target_name is None:
        return None  # a new session: it is created with the new default model
    try:
        session = await client.resume_session(target_name)
    except ReplError:
        if name or args.session:
            raise  # asked for by name: its error is the answer
        return None  # the last session does not open: the front end says so, opens another
    target = wanted_model(client, args, session.model)
    if target is not None:
        await session.set_model(target)
        stderr.write(f"copilot-repl: {target_name} now uses {session.model}\n")
    return session
