"""Profile copilot-repl in one benchmark scenario (evidence for bench/RESULTS.md).

    .venv/bin/python bench/prof.py script            cProfile, top 30 by tottime
    .venv/bin/python bench/prof.py shell --tool pyinstrument
    .venv/bin/python bench/prof.py ls --sort cumulative
    .venv/bin/python bench/prof.py start             python -X importtime, slowest imports

Scenarios: script (20k deltas to a pipe), shell (20k deltas rendered in a
pty), prompt (start until the prompt is drawn, then Ctrl-D), fanout (:all,
8 × 5k), ls (:ls over 1,000 × 200), big (one turn in a 10,000-message
session), turn (one turn in a new session), switch (the shell on a 1-message
session, ``:switch`` to a 10,000-message one), start (imports of --version
and of the shell).
"""

from __future__ import annotations

import argparse
import os
import pstats
import random
import re
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from arrival import ArrivalServer  # noqa: E402
from benchmarks import FULL, SWITCH_AFTER, _fanout_script, _switch_prompt  # noqa: E402
from harness import (  # noqa: E402
    PROMPT_RE,
    PYTHON,
    READY_RE,
    STATS_RE,
    Homes,
    PtyChild,
    ServerProcess,
    bytecode_cache,
    child_env,
    run_child,
    scratch,
)
from storegen import Texts, make_store, write_session  # noqa: E402

SCENARIOS = ("script", "shell", "prompt", "fanout", "ls", "big", "turn", "switch", "start")


def profiled(tool: str, out: Path) -> list[str]:
    """The command prefix that runs ``-m copilot_repl`` under ``tool``."""
    if tool == "pyinstrument":
        return [
            PYTHON,
            "-m",
            "pyinstrument",
            "--renderer",
            "text",
            "-o",
            str(out),
            "-m",
            "copilot_repl",
        ]
    return [PYTHON, "-m", "cProfile", "-o", str(out), "-m", "copilot_repl"]


def report(tool: str, out: Path, sort: str, limit: int) -> None:
    if tool == "pyinstrument":
        print(out.read_text())
        return
    stats = pstats.Stats(str(out))
    stats.strip_dirs().sort_stats(sort).print_stats(limit)


def importtime(argv: Sequence[str], limit: int) -> None:
    run_child([PYTHON, *argv], env=child_env())  # fill the bytecode cache
    r = run_child([PYTHON, "-X", "importtime", *argv], env=child_env())
    rows = []
    for line in r.err.decode().splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), int(m.group(1)), len(m.group(3)) // 2, m.group(4)))
    total = max((c for c, _, depth, _ in rows if depth == 0), default=0)
    print(f"$ python -X importtime {' '.join(argv)}  (top-level imports: see cumulative)")
    print(f"{'cumul ms':>9} {'self ms':>8}  module")
    for cumul, own, depth, name in sorted(rows, reverse=True)[:limit]:
        print(f"{cumul / 1000:9.1f} {own / 1000:8.1f}  {'  ' * depth}{name}")
    print(f"largest top-level import: {total / 1000:.1f} ms\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("scenario", choices=SCENARIOS)
    p.add_argument("--tool", choices=("cprofile", "pyinstrument"), default="cprofile")
    p.add_argument("--sort", default="tottime", help="pstats sort key (cProfile)")
    p.add_argument("--limit", type=int, default=30)
    p.add_argument("--deltas", type=int, default=FULL.deltas)
    args = p.parse_args(argv)
    with bytecode_cache():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    if args.scenario == "start":
        importtime(["-m", "copilot_repl", "--version"], args.limit)
        importtime(["-c", "import copilot_repl.shell.loop"], args.limit)
        return 0
    with scratch() as tmp:
        out = tmp / "profile.out"
        cmd = profiled(args.tool, out)
        homes = Homes(tmp)
        if args.scenario in ("ls", "big", "turn", "switch"):
            with ArrivalServer() as server:
                store = homes.new()
                if args.scenario == "ls":
                    make_store(store, FULL.store_sessions, FULL.store_messages)
                elif args.scenario in ("big", "switch"):
                    (store / "sessions").mkdir(mode=0o700)
                    texts = Texts(random.Random(11))
                    write_session(
                        store / "sessions",
                        "big",
                        FULL.big_messages,
                        created=1_700_000_000.0,
                        texts=texts,
                    )
                    write_session(
                        store / "sessions", "small", 1, created=1_700_000_000.0, texts=texts
                    )
                for _ in range(2):  # the first run fills the bytecode cache
                    code = _store_once(args.scenario, cmd, server.url, store)
        else:
            with ServerProcess() as srv:
                for _ in range(2):
                    code = _stream_once(args, cmd, srv.url, homes.new())
        if code != 0 or not out.exists():
            print("no profile written", file=sys.stderr)
            return 1
        report(args.tool, out, args.sort, args.limit)
        if os.environ.get("PROF_KEEP"):
            shutil.copyfile(out, os.environ["PROF_KEEP"])
    return 0


def _store_once(scenario: str, cmd: list[str], url: str, home: Path) -> int:
    if scenario == "switch":
        pty = PtyChild([*cmd, "--base-url", url, "--session", "small"], child_env(home))
        try:
            pty.wait_for(READY_RE, timeout=60)
            pty.pump_until(pty.started + SWITCH_AFTER)
            pty.send(":switch big\r")
            pty.wait_for(_switch_prompt("big"), timeout=60)
        finally:
            pty.close()
        return 0
    if scenario == "ls":
        r = run_child([*cmd, "--base-url", url], stdin=b":ls\n", env=child_env(home))
    elif scenario == "turn":
        shutil.rmtree(home / "sessions", ignore_errors=True)
        r = run_child(
            [*cmd, "--base-url", url, "--session", "fresh"],
            stdin=b"one question\n",
            env=child_env(home),
        )
    else:
        # a fresh copy of the session each time: the turn appends to it
        shutil.copyfile(home / "sessions" / "big.jsonl", home / "big.jsonl")
        r = run_child(
            [*cmd, "--base-url", url, "--session", "big"],
            stdin=b"one more question\n",
            env=child_env(home),
        )
        shutil.copyfile(home / "big.jsonl", home / "sessions" / "big.jsonl")
    if r.code:
        print(r.err.decode(errors="replace")[-2000:], file=sys.stderr)
    return r.code


def _stream_once(args: argparse.Namespace, cmd: list[str], url: str, home: Path) -> int:
    if args.scenario in ("shell", "prompt"):
        pty = PtyChild([*cmd, "--base-url", url], child_env(home))
        try:
            pty.wait_for(PROMPT_RE, timeout=60)
            if args.scenario == "shell":
                pty.send(f"go #deltas={args.deltas}\r")
                pty.wait_for(STATS_RE)
                pty.wait_for(PROMPT_RE, timeout=60)
        finally:
            pty.close()
        return 0
    if args.scenario == "script":
        argv, stdin = [*cmd, "--base-url", url], f"go #deltas={args.deltas}\n"
    else:
        argv, stdin = [*cmd, "--base-url", url, "--session", "s1"], _fanout_script(FULL)
    r = run_child(argv, stdin=stdin.encode(), env=child_env(home))
    if r.code:
        print(r.err.decode(errors="replace")[-2000:], file=sys.stderr)
    return r.code


if __name__ == "__main__":
    sys.exit(main())
