"""``copilot-repl vote``: vote on blind comparisons from any terminal, the
one that started them or another, before or after a restart.

    copilot-repl vote                 the queue, one pair at a time (a terminal)
    copilot-repl vote A               the newest :blind round: A, B, tie or bad
    copilot-repl vote NAME A          that round or batch pair
    copilot-repl vote --list          what waits (--json: as data)
    copilot-repl vote --drop NAME     abandon it (a batch's name: all its pairs)

Exit status 0, 1 (failed), 2 (bad usage)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import IO, Any

from copilot_repl.cli.arguments import (
    Invocation,
    LineParser,
    add_global_options,
    make_client,
    run_subcommand,
)
from copilot_repl.cli.output import is_tty, write_table
from copilot_repl.errors import BadUsage, UsageError
from copilot_repl.history.blinds import BlindStore
from copilot_repl.repl import blind
from copilot_repl.repl.wording import excerpt

HELP = """\
keys in the queue: a (A is better), b, t (tie), x (both bad), s (skip: later),
q (quit; run it again to go on), arrows and Page Up/Down scroll.
A vote is kept in DATA_DIR/votes.jsonl; what waits, in DATA_DIR/blind/.
"""


def build_parser(out: IO[str]) -> argparse.ArgumentParser:
    p = LineParser(
        out=out,
        prog="copilot-repl vote",
        description="Vote on blind comparisons (:blind, compare --blind).",
        epilog=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    p.add_argument("words", nargs="*", metavar="[NAME] VERDICT", help="A, B, ..., tie or bad")
    p.add_argument("--list", action="store_true", help="list what waits for a vote")
    p.add_argument("--drop", metavar="NAME", help="abandon a comparison (or a batch's queue)")
    p.add_argument("--json", action="store_true", help="one JSON document")
    add_global_options(p, default=argparse.SUPPRESS)
    return p


def run_vote(call: Invocation) -> int:
    """Run ``copilot-repl [OPTIONS] vote ARGS``; returns the exit status."""
    stdout, stderr, env = call.stdout, call.stderr, call.env

    def setup() -> tuple[Any, argparse.Namespace]:
        args = build_parser(stdout).parse_args(call.argv)
        if len(args.words) > 2:
            raise BadUsage("give [NAME] VERDICT")
        return make_client(args, env), args

    def act(ready: tuple[Any, argparse.Namespace]) -> int:
        return _run(*ready, call.stdin, stdout, stderr)

    return run_subcommand(call, setup, act)


def _run(
    client: Any, args: argparse.Namespace, stdin: IO[Any], stdout: IO[str], stderr: IO[str]
) -> int:

    data_dir = client.config.data_dir
    store = client.store
    if args.list:
        return _list(BlindStore(data_dir), args.json, stdout)
    if args.drop:
        return _drop(BlindStore(data_dir), args.drop, args.json, stdout)
    if args.words:
        pending = blind.find(data_dir, args.words[0] if len(args.words) == 2 else "")
        try:
            verdict = blind.parse_verdict(pending, args.words[-1])
        except UsageError as exc:
            raise BadUsage(str(exc)) from None  # exit 2
        vote = blind.cast(data_dir, store, pending, verdict)
        rows = blind.reveal_rows(store, vote, {})
        if args.json:
            doc = {
                "vote": vote.to_dict(),
                "revealed": [dict(zip(blind.REVEAL_HEADER, r, strict=False)) for r in rows],
            }
            stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        else:
            write_table(stdout, blind.REVEAL_HEADER, rows)
            what = {"tie": "a tie", "bad": "all bad"}.get(verdict, verdict)
            stderr.write(f"copilot-repl: vote recorded ({what})\n")
        return 0
    queue = blind.Queue(data_dir, store)
    if not queue.pairs():
        stderr.write("copilot-repl: no blind comparison waits for a vote\n")
        return 0
    if not (is_tty(stdin) and is_tty(stdout)):
        raise BadUsage(
            f"{queue.left()} comparisons wait; the queue needs a terminal "
            "(or give a verdict: copilot-repl vote [NAME] A|B|tie|bad)"
        )
    # start-up: the vote queue (rich, prompt_toolkit) only on a terminal
    from copilot_repl.shell.votequeue import walk

    asyncio.run(walk(queue))
    left = queue.left()
    stderr.write(
        f"copilot-repl: {queue.voted} recorded; {left} waiting"
        + ("; run copilot-repl vote again to go on\n" if left else "\n")
    )
    return 0


def _list(blinds: Any, as_json: bool, stdout: IO[str]) -> int:
    pending = blinds.pending()
    if as_json:
        doc = [
            {
                "name": p.name,
                "run": p.run,
                "index": p.index,
                "of": p.of,
                "tag": p.tag,
                "labels": sorted(p.labels),
                "prompt": p.prompt,
                "ts": p.ts,
            }
            for p in pending
        ]
        stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return 0

    rows = [[p.name, p.run or "-", ",".join(sorted(p.labels)), excerpt(p.prompt)] for p in pending]
    write_table(stdout, ["name", "batch", "labels", "prompt"], rows)
    return 0


def _drop(blinds: Any, name: str, as_json: bool, stdout: IO[str]) -> int:
    pending = blinds.pending()
    names = [p.name for p in pending if p.run == name] or [name]
    for n in names:
        if not blinds.drop(n):
            raise UsageError(f"no blind comparison {n!r} waits for a vote")
    if as_json:
        stdout.write(json.dumps({"dropped": names}) + "\n")
    else:
        stdout.write(f"dropped {len(names)}: {', '.join(names)}\n")
    return 0
