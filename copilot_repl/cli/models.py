"""``copilot-repl models [PROVIDER]``: the models a provider offers, one
``provider:model`` a line (``--json``: one JSON array), as ``:models`` lists
them in the shell. Without PROVIDER, the default model's provider."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import IO, TYPE_CHECKING

from copilot_repl.cli.arguments import (
    Invocation,
    LineParser,
    add_global_options,
    make_client,
    run_subcommand,
)
from copilot_repl.errors import ReplError

if TYPE_CHECKING:
    from copilot_repl.api.client import CopilotClient


def build_parser(out: IO[str]) -> argparse.ArgumentParser:
    p = LineParser(
        out=out,
        prog="copilot-repl models",
        description="List the models a provider offers (default: the default model's provider).",
        allow_abbrev=False,
    )
    p.add_argument("provider", metavar="PROVIDER", nargs="?", help="openai, ollama, local, ...")
    p.add_argument("--json", action="store_true", help="one JSON array")
    add_global_options(p)
    return p


def run_models(call: Invocation) -> int:
    """Run ``copilot-repl [OPTIONS] models [PROVIDER]``; returns the exit status."""
    stdout, env = call.stdout, call.env

    def setup() -> tuple[CopilotClient, argparse.Namespace]:
        args = build_parser(stdout).parse_args(call.argv)
        return make_client(args, env), args

    def act(ready: tuple[CopilotClient, argparse.Namespace]) -> int:
        client, args = ready
        models = asyncio.run(_list(client, args.provider))
        if args.json:
            stdout.write(json.dumps(models, indent=2) + "\n")
        else:
            stdout.write("".join(f"{m}\n" for m in models))
        return 0

    return run_subcommand(call, setup, act, hinted=(ReplError,))


async def _list(client: CopilotClient, provider: str | None) -> list[str]:
    name = (provider or client.config.model.partition(":")[0]).rstrip(":")
    await client.start()
    try:
        return [f"{name}:{m}" for m in sorted(await client.provider(name).list_models())]
    finally:
        await client.stop()
