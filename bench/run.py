"""copilot-repl benchmarks (issue #7): ``make bench`` or ``.venv/bin/python bench/run.py``.

Every benchmark starts the loopback server (``tests/fakeserver.py``) in its
own process, runs copilot-repl as a child process (or in a pseudo-terminal),
and measures a floor in the same run. Benchmarks are not tests: nothing here
fails on a slow figure; missed goals are marked "NO" in the table.

    bench/run.py                   the full suite (5 timed runs + 1 warm-up each)
    bench/run.py --quick           one run of each, tiny inputs (the smoke test)
    bench/run.py --only script,start --repeats 9
    bench/run.py --json out.json --markdown
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from benchmarks import BENCHES, FULL, QUICK  # noqa: E402
from harness import ROOT, Row, bytecode_cache, table  # noqa: E402


def machine() -> dict[str, str]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        rev = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": str(os.cpu_count() or 0),
        "cpu": cpu or platform.processor() or "unknown",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "git": rev,
        "load": _load(),
    }


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="one run, tiny inputs (smoke test)")
    p.add_argument(
        "--only", metavar="NAME[,NAME]", default="", help=f"run only these: {', '.join(BENCHES)}"
    )
    p.add_argument("--repeats", type=int, help="timed runs per case (default 5; quick: 1)")
    p.add_argument("--warmup", type=int, help="untimed runs first (default 1; quick: 0)")
    p.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        print(
            f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(BENCHES)}",
            file=sys.stderr,
        )
        return 2
    sizes = QUICK if args.quick else FULL
    if args.repeats is not None:
        sizes = replace(sizes, repeats=max(1, args.repeats))
    if args.warmup is not None:
        sizes = replace(sizes, warmup=max(0, args.warmup))
    info = machine()
    print(
        f"copilot-repl benchmarks{' (quick)' if args.quick else ''} · {info['date']} · "
        f"{info['nproc']} × {info['cpu']} · Python {info['python']} · {info['git']}",
        flush=True,
    )
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        print(
            f"bench: warning: load average {info['load']}: other work on this machine "
            "will show in the wall times (compare the cpu columns)",
            file=sys.stderr,
        )
    rows: list[Row] = []
    loads: dict[str, str] = {}
    with bytecode_cache():
        for name in names:
            t = time.perf_counter()
            print(f"\n== {name} ({sizes.repeats} timed, {sizes.warmup} warm-up)", flush=True)
            got = BENCHES[name](sizes)
            print(table(got, markdown=args.markdown), flush=True)
            loads[name] = _load()
            print(
                f"({time.perf_counter() - t:.0f} s; load average after: {loads[name]})", flush=True
            )
            rows += got
    if len(names) > 1:
        print("\n== all", flush=True)
        print(table(rows, markdown=args.markdown), flush=True)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "machine": info,
                    "quick": args.quick,
                    "repeats": sizes.repeats,
                    "load_after": loads,
                    "rows": [r.as_dict() for r in rows],
                },
                indent=2,
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
