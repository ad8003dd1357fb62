"""The CPU time of one SDK session streaming a reply with ``streaming=True``
(an ``assistant.message_delta`` event per delta, each with its id and
timestamp, to a handler), in-process, against a loopback server. Evidence
for bench/RESULTS.md (issue 26: the per-delta cost of the event envelope).

    .venv/bin/python bench/sdk_stream.py DELTAS ROUNDS [LABEL=PYTHONPATH ...]

Each LABEL's tree (default: this checkout) runs in its own interpreter,
rounds interleaved; prints the median and min CPU seconds per label.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


async def one(url: str, n: int) -> tuple[float, int]:
    from copilot_repl.api.client import CopilotClient

    async with CopilotClient(base_url=url) as client:
        s = await client.create_session(model="openai:gpt-4o-mini", streaming=True)
        got: list[str] = []

        def on(event: object) -> None:
            if getattr(event, "type", "") == "assistant.message_delta":
                got.append(event.data.delta_content)  # type: ignore[attr-defined]

        s.on(on)
        await s.send_and_wait("warm #deltas=10")
        got.clear()
        c0 = time.process_time()
        await s.send_and_wait(f"go #deltas={n}", timeout=600)
        return time.process_time() - c0, len(got)


def main(argv: list[str]) -> int:
    if argv[0] == "--child":
        print(json.dumps(asyncio.run(one(argv[1], int(argv[2])))))
        return 0
    from harness import PYTHON, ROOT, ServerProcess, bytecode_cache, child_env, scratch

    n, rounds = int(argv[0]), int(argv[1])
    trees = [t.split("=", 1) for t in argv[2:]] or [["this", str(ROOT)]]
    cpu: dict[str, list[float]] = {label: [] for label, _ in trees}
    with bytecode_cache(), ServerProcess() as server, scratch() as tmp:
        for i in range(rounds + 1):  # the first round warms up
            for label, path in trees if i % 2 else trees[::-1]:
                env = child_env(tmp / f"h{i}-{label}", PYTHONPATH=path)
                args = [PYTHON, __file__, "--child", server.url, str(n)]
                out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=600)
                seconds, events = json.loads(out.stdout.strip().splitlines()[-1])
                if events != n:
                    print(f"{label}: {events} delta events for {n} deltas", file=sys.stderr)
                if i:
                    cpu[label].append(seconds)
    print(f"load average {os.getloadavg()[0]:.2f}; CPU seconds, {n} deltas, {rounds} rounds")
    for label, values in cpu.items():
        print(f"{label:10s} median {statistics.median(values):.3f}  min {min(values):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
