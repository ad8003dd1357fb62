"""``copilot-repl compare``: each prompt of a file to each model, with a
progress bar on a terminal (a line per reply otherwise), then a summary per
model. The run is journaled in the data dir (``history/comparisons.py``): the same
command run again after an interruption (Ctrl-C, kill -9, a crash) resumes
where it stopped. Exit status 0 (every reply came), 1 (some failed or the
run could not go on), 2 (bad usage), 130 (interrupted)."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import IO, Any

from copilot_repl.api.batch import run
from copilot_repl.cli.arguments import (
    Invocation,
    LineParser,
    add_global_options,
    make_client,
    run_subcommand,
)
from copilot_repl.cli.output import is_tty, write_table
from copilot_repl.errors import UsageError
from copilot_repl.history.blinds import BlindStore
from copilot_repl.history.comparisons import Journal, matchups
from copilot_repl.repl import batch
from copilot_repl.repl.batch import check_output
from copilot_repl.repl.batch import make_plan as plan_of
from copilot_repl.repl.judge import Judged, judge_run
from copilot_repl.repl.wording import figures_line
from copilot_repl.sanitize import clean, one_line

HELP = """\
PROMPTS: a text file, one prompt a line (blank lines and # comments skipped;
a prompt of several lines between lines holding only \"\"\"), or a .jsonl
file of strings or {"prompt": ...} objects.

Every reply is an ordinary session named NAME-N-MODEL (:ls, :switch).
The run is kept in DATA_DIR/compare/NAME.jsonl; the same command again
resumes it (NAME defaults to a digest of the models, prompts and system).
--out: one JSON line per (prompt, model): reply, status, figures.
--report FILE.html: one self-contained HTML page (charts, tables, every
reply); any other name: Markdown.
--blind: each prompt and each two models make a pair to vote on blind
later (copilot-repl vote); sessions are named NAME-N-XXXX, models hidden.
--judge MODEL: MODEL votes on each pair, twice with the replies swapped
(a tie when it disagrees with itself); :scores --by judge.
A line "# tag: NAME" in PROMPTS tags the prompts after it (:scores --tag).
"""


def build_parser(out: IO[str]) -> argparse.ArgumentParser:
    p = LineParser(
        out=out,
        prog="copilot-repl compare",
        description="Send each prompt of a file to each model; compare the replies.",
        epilog=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    add_model_options(p)
    p.add_argument("--json", action="store_true", help="the summary as one JSON document")
    add_global_options(p, default=argparse.SUPPRESS)
    return p


def add_model_options(p: argparse.ArgumentParser) -> None:
    """The options ``compare`` and ``:compare`` share."""
    p.add_argument("--models", required=True, metavar="A,B,...", help="models to compare")
    p.add_argument("--prompts", required=True, metavar="FILE", help="the prompts (see below)")
    p.add_argument("--system", default="", metavar="TEXT", help="system prompt for every reply")
    p.add_argument("--out", metavar="FILE", help="write the results as JSON Lines")
    p.add_argument(
        "--report", metavar="FILE", help="write a report: HTML for FILE.html, else Markdown"
    )
    p.add_argument("--name", default="", metavar="NAME", help="the run's name (to resume it)")
    p.add_argument("--retry-failed", action="store_true", help="ask failed pairs again")
    p.add_argument(
        "--judge",
        metavar="MODEL",
        help="a model votes on each pair (twice, the replies swapped; disagreeing: a tie)",
    )
    p.add_argument(
        "--blind",
        action="store_true",
        help="vote on the replies blind, pair by pair, later (copilot-repl vote)",
    )


def run_compare(call: Invocation) -> int:
    """Run ``copilot-repl [OPTIONS] compare ARGS``; returns the exit status."""
    stdout, stderr, env = call.stdout, call.stderr, call.env

    def setup() -> tuple[Any, Any, argparse.Namespace]:
        args = build_parser(stdout).parse_args(call.argv)
        args.options, args.role = [], None  # the models' own defaults: a fair comparison
        client = make_client(args, env)
        plan = make_plan(client, args)
        check_outputs(args)
        return client, plan, args

    def act(ready: tuple[Any, Any, argparse.Namespace]) -> int:
        client, plan, args = ready
        try:
            return asyncio.run(_main(client, plan, args, stdout, stderr))
        except KeyboardInterrupt:
            stderr.write(
                f"copilot-repl: interrupted; run the same command again to resume {plan.name}\n"
            )
            return 130

    return run_subcommand(call, setup, act, hinted=(UsageError,))


def make_plan(client: Any, args: argparse.Namespace) -> Any:
    if args.judge:  # an unknown provider says so before anything is asked
        args.judge = client.config.resolve_model(args.judge)
        client.provider_config(args.judge)
    return plan_of(
        client, args.models, Path(args.prompts), args.system, args.name, blind=args.blind
    )


async def _main(
    client: Any, plan: Any, args: argparse.Namespace, stdout: IO[str], stderr: IO[str]
) -> int:

    await client.start()
    _, already = Journal(client.config.data_dir, plan.name).read()
    if already:
        stderr.write(f"resuming {plan.name}: {len(already)} of {len(plan.pairs())} already in\n")
    progress = _Progress(stderr, len(plan.pairs()), len(already), blind=plan.blind)
    try:
        with progress:
            results = await run(
                client, plan, retry_failed=args.retry_failed, on_result=progress.advance
            )
        if args.judge:
            await _judge(client, plan, results, args.judge, stderr)
    finally:
        await client.stop()
    batch.write_outputs(client.config.data_dir, plan, results, _path(args.out), _path(args.report))
    summary = batch.summarize(plan, results)
    if args.json:
        doc = {
            "name": plan.name,
            "journal": str(Journal(client.config.data_dir, plan.name).path),
            "summary": [s.to_dict() for s in summary],
        }
        stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        print_table(stdout, batch.SUMMARY_HEADER, [s.cells() for s in summary])
        if plan.blind:
            left = len(BlindStore(client.config.data_dir).pending(plan.name))
            stderr.write(
                f"comparison {plan.name}: {left} of {len(matchups(plan))} pairs wait "
                "for a vote: copilot-repl vote\n"
            )
        else:
            stderr.write(f"comparison {plan.name}: sessions {plan.name}-N-MODEL\n")
    return 0 if all(r.ok for r in results) else 1


def check_outputs(args: argparse.Namespace) -> None:
    """``--out`` and ``--report`` are checked before any request is spent."""

    for option, value in (("--out", args.out), ("--report", args.report)):
        path = _path(value)
        if path is not None:
            check_output(path, option)


def _path(value: str | None) -> Path | None:
    return Path(value).expanduser() if value else None


def print_table(stream: IO[str], header: list[str], rows: list[list[str]]) -> None:
    if not is_tty(stream):
        write_table(stream, header, rows)
        return
    # rich: only a table for a terminal (--json and pipes skip it)
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(*header, box=box.SIMPLE_HEAD)
    for row in rows:
        table.add_row(*(Text(clean(c)) for c in row))  # plain text: no markup, no controls
    Console(file=stream).print(table)


class _Progress:
    """rich.progress on a terminal; one line per reply otherwise."""

    def __init__(self, stream: IO[str], total: int, done: int, *, blind: bool = False) -> None:
        self.stream = stream
        self.blind = blind  # which model wrote which reply is not said
        self.total = total
        self.count = done
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> _Progress:
        if is_tty(self.stream):
            # rich: the progress bar only on a terminal
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            self._bar = Progress(
                TextColumn("comparing"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=Console(file=self.stream),
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("", total=self.total, completed=self.count)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)

    def advance(self, result: Any) -> None:
        self.count += 1
        what = f"{result.model} · prompt {result.prompt_index + 1} · {result.status}"
        if self.blind:
            what = f"prompt {result.prompt_index + 1} · {result.status}"
        if self._bar is not None:
            self._bar.update(self._task, advance=1, description=one_line(what))
            return
        extra = f" · {one_line(result.error)}" if result.error else ""
        figures = "" if self.blind else " · " + figures_line(result.figures)
        self.stream.write(f"[{self.count}/{self.total}] {what}{figures}{extra}\n")
        self.stream.flush()


async def _judge(client: Any, plan: Any, results: list[Any], judge: str, stderr: IO[str]) -> None:
    model = judge

    def said(j: Judged) -> None:
        what = j.problem or (
            f"{j.vote.verdict} · {one_line(j.vote.reason)}" if j.vote is not None else ""
        )
        stderr.write(f"judged {j.name}: {what}\n")

    judged = await judge_run(client, plan, results, model, said)
    votes = sum(1 for j in judged if j.vote is not None)
    stderr.write(f"{model} judged {votes} of {len(judged)} pairs; :scores --by judge\n")
