"""The benchmark suite still runs: each benchmark once, on tiny inputs.

No timing is asserted (benchmarks are not tests); only that every benchmark
ran and produced numbers.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCHES = {
    "script",
    "tools",
    "start",
    "render",
    "fanout",
    "store",
    "memory",
    "search",
    "users",
    "long",
    "longops",
}
if importlib.util.find_spec("llama_cpp") is not None:
    BENCHES |= {"local", "llama"}  # the embedded model (skipped without llama-cpp-python)


def test_every_benchmark_runs_and_measures(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--quick", "--json", str(results)],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr, proc.stderr
    data = json.loads(results.read_text())
    rows = data["rows"]
    assert {r["bench"] for r in rows} == BENCHES
    for row in rows:
        assert row["n"] == 1, row
        assert isinstance(row["median"], float) and math.isfinite(row["median"]), row
        assert row["median"] > 0, row
        assert row["problems"] == [], row
    # every case that has a floor got a ratio to it
    assert all(r["ratio"] is not None for r in rows if r["goal"] and r["unit"] != "×")
    # the table was printed
    assert "== all" in proc.stdout and "floor" in proc.stdout
