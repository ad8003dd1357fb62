"""llama.cpp's own decode rate for the embedded model with the running
interpreter's llama-cpp-python build (no server, no HTTP): what a build's
flags cost or gain (a row pair of ``make bench``: local).

    python bench/llama_decode.py MODEL TOKENS ROUNDS [--no-repack]

``--no-repack`` loads the model as copilot-repl loads it on a build with AMX
code (``use_extra_bufts = False``). Prints one JSON object: the build's
system info and, per round, the decode rate of a greedy reply ((chunks - 1)
/ (last chunk - first chunk), prompt evaluation left out), by the wall clock
(``rates``) and by this thread's CPU time (``cpu_rates``: on a busy machine
the steadier figure; decoding runs on this thread when it has one thread, as
on 2 cores). Threads as copilot-repl sets them: a core fewer than usable for
decoding, all for the prompt. Needs copilot_repl importable (PYTHONPATH) and
llama_cpp.
"""

from __future__ import annotations

import json
import sys
import time

from copilot_repl.providers.llama_server import load_without_repacking
from copilot_repl.providers.local import cpu_count, decode_threads

PROMPT = "Write a short story about a lighthouse keeper and a storm."


def main(model: str, tokens: int, rounds: int, repack: bool) -> dict[str, object]:
    import llama_cpp

    if not repack:
        load_without_repacking()
    llm = llama_cpp.Llama(
        model_path=model,
        n_ctx=2048,
        n_threads=decode_threads(),
        n_threads_batch=cpu_count(),
        verbose=False,
    )
    rates, cpu_rates = [], []
    for _ in range(rounds):
        stamps, cpu = [], []
        chunks = llm.create_chat_completion(
            messages=[{"role": "user", "content": PROMPT}],
            max_tokens=tokens,
            temperature=0.0,
            stream=True,
        )
        for chunk in chunks:
            if chunk["choices"][0]["delta"].get("content"):  # type: ignore[index]
                stamps.append(time.perf_counter())
                cpu.append(time.thread_time())
        rates.append((len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 2 else 0.0)
        cpu_rates.append((len(cpu) - 1) / (cpu[-1] - cpu[0]) if len(cpu) > 2 else 0.0)
    info = llama_cpp.llama_print_system_info().decode().strip()
    return {"system_info": info, "rates": rates, "cpu_rates": cpu_rates}


if __name__ == "__main__":
    model, tokens, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    print(json.dumps(main(model, tokens, rounds, "--no-repack" not in sys.argv[4:])))
