"""What the store costs as a session grows (evidence for docs/reliability.md).

    .venv/bin/python bench/store_costs.py

Prints: one identity-checked append plus its read-back at 100 and at 10,000
messages (the per-turn store cost must not grow with the history), a full
load of 10,000 messages, and ``summaries()`` (``:ls``) over 1,000 sessions of
200 messages without and with its cache.
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from storegen import Texts, make_store, write_session  # noqa: E402

from copilot_repl.history.store import Store  # noqa: E402


def _session(messages: int) -> Path:
    root = Path(tempfile.mkdtemp())
    (root / "sessions").mkdir()
    write_session(root / "sessions", "s", messages, created=1.0, texts=Texts(random.Random(1)))
    return root


def per_record(messages: int, rounds: int = 300) -> float:
    root = _session(messages)
    store = Store(root)
    loaded = store.load("s")
    rec = {"t": "msg", "role": "user", "content": "x" * 200, "ts": 1.0}
    start = time.perf_counter()
    for _ in range(rounds):
        store.append("s", rec, loaded=loaded)
        store.refresh(loaded)
    took = (time.perf_counter() - start) / rounds
    shutil.rmtree(root)
    return took


def load(messages: int, rounds: int = 5) -> float:
    root = _session(messages)
    store = Store(root)
    start = time.perf_counter()
    for _ in range(rounds):
        store.load("s")
    took = (time.perf_counter() - start) / rounds
    shutil.rmtree(root)
    return took


def summaries(sessions: int, messages: int) -> tuple[float, float]:
    root = Path(tempfile.mkdtemp())
    make_store(root, sessions, messages)
    store = Store(root)
    start = time.perf_counter()
    store.summaries()
    cold = time.perf_counter() - start
    start = time.perf_counter()
    store.summaries()
    warm = time.perf_counter() - start
    shutil.rmtree(root)
    return cold, warm


def main() -> None:
    per_record(100, rounds=50)  # warm-up: imports, page cache
    small, big = per_record(100), per_record(10_000)
    print(
        f"append + read-back of one record: {small * 1e6:.0f} us at 100 messages, "
        f"{big * 1e6:.0f} us at 10,000 ({big / small:.2f}x)"
    )
    print(f"full load of 10,000 messages: {load(10_000) * 1e3:.1f} ms")
    cold, warm = summaries(1000, 200)
    print(f"summaries() of 1,000 x 200: {cold * 1e3:.0f} ms without the cache, {warm * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
