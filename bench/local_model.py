"""The embedded model through copilot-repl against a bare httpx client on the
same llama.cpp server (a row pair of ``make bench``: local).

    python bench/local_model.py ROUNDS MAX_TOKENS [THREADS]

Prints one JSON object: ``cold`` (a new client's first prompt: send → first
delta, the server's start included) and, per round, copilot-repl's and the
floor's first-token latency and decode rate. Copilot-repl goes through the
public API (``CopilotClient`` → session → the ``local`` provider → its
server); the floor is ``httpx.Client`` streaming the same request body to
that very server, rounds alternating which goes first. Decode rate = (content
chunks - 1) / (last chunk - first chunk): prompt evaluation is left out, and
both count the same chunks (greedy sampling: the same tokens each time).
``*_cpu_ms_per_token``: the client's own CPU per token (its thread's), what
it takes from the cores the server decodes on: steady under load.
Run with COPILOT_REPL_HOME set to a scratch dir (the caller does).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

PROMPT = "Write a short story about a lighthouse keeper and a storm."


def decode_rate(stamps: list[float]) -> float:
    return (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 2 else 0.0


async def through_repl(client: Any, prompt: str) -> tuple[float, list[float], float]:
    """send → first delta, every delta's arrival time, and the CPU time this
    process's loop thread spent meanwhile."""
    session = await client.create_session(model="local", streaming=True)
    stamps: list[float] = []

    def on(event: Any) -> None:
        if event.type == "assistant.message_delta" and event.data.delta_content:
            stamps.append(time.perf_counter())

    session.on(on)
    t0, c0 = time.perf_counter(), time.thread_time()
    reply = await session.send_and_wait(prompt, timeout=600)
    cpu = time.thread_time() - c0
    if reply is None or not stamps:
        raise RuntimeError("copilot-repl got no reply from the local model")
    await client.delete_session(session.session_id)
    return stamps[0] - t0, stamps, cpu


def bare_httpx(url: str, body: dict[str, Any]) -> tuple[float, list[float], float]:
    import httpx

    stamps: list[float] = []
    c0 = time.thread_time()
    with httpx.Client(timeout=600) as http:
        t0 = time.perf_counter()
        with http.stream("POST", f"{url}/chat/completions", json=body) as resp:
            for line in resp.iter_lines():
                if not line.startswith("data:") or line.strip() == "data: [DONE]":
                    continue
                for choice in json.loads(line[5:]).get("choices") or ():
                    if (choice.get("delta") or {}).get("content"):
                        stamps.append(time.perf_counter())
    if not stamps:
        raise RuntimeError("the floor got no reply from the llama.cpp server")
    return stamps[0] - t0, stamps, time.thread_time() - c0


async def main(rounds: int, max_tokens: int, threads: int) -> dict[str, Any]:
    from copilot_repl.api.client import CopilotClient

    home = Path(os.environ["COPILOT_REPL_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    params = f"params = {{max_tokens = {max_tokens}, temperature = 0.0, seed = 1}}"
    extra = f"threads = {threads}\n" if threads else ""
    (home / "config.toml").write_text(f"[providers.local]\n{params}\n{extra}")
    out: dict[str, Any] = {"rounds": []}
    async with CopilotClient() as client:
        first, stamps, _ = await through_repl(client, PROMPT)
        out["cold"] = first
        provider = client.provider("local")
        server = provider.server  # type: ignore[attr-defined]
        body = {
            "model": provider.config.default_model,
            "messages": [{"role": "user", "content": PROMPT}],
            "stream": True,
            **provider.config.params,
        }
        for i in range(rounds):
            row: dict[str, Any] = {}
            order = ("repl", "floor") if i % 2 == 0 else ("floor", "repl")
            for who in order:
                if who == "repl":
                    first, stamps, cpu = await through_repl(client, PROMPT)
                else:
                    first, stamps, cpu = await asyncio.to_thread(bare_httpx, server.url, body)
                row[f"{who}_first"] = first
                row[f"{who}_rate"] = decode_rate(stamps)
                row[f"{who}_chunks"] = len(stamps)
                row[f"{who}_cpu_ms_per_token"] = 1000 * cpu / max(len(stamps), 1)
            out["rounds"].append(row)
    return out


if __name__ == "__main__":
    n, tokens = int(sys.argv[1]), int(sys.argv[2])
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 0
    print(json.dumps(asyncio.run(main(n, tokens, threads))))
