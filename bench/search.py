"""The search benchmark (issue #16): ``:find`` over the store ``storegen``
writes (1,000 sessions × 200 messages in the full run), in process.

Goal: a query returns in ≤ 50 ms once indexed (the time includes checking
every session file against the index). The floor is the bare FTS5 query on
the same index file (first 20 matches, unranked, no snippets). Building the
index from nothing is timed once (it is what the first ``:find`` pays), and
so is the query right after one session changed (re-indexed on the way).
"""

from __future__ import annotations

import random
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from harness import Goal, Homes, Row, Sample, scratch
from storegen import Texts, make_store, write_session

from copilot_repl.history.search import INDEX_FILE, SearchIndex
from copilot_repl.history.store import Store

if TYPE_CHECKING:
    from benchmarks import Sizes

NEEDLE = "kumquat"  # in one message of one extra session: a rare word
# (case, query, filters): the storegen vocabulary is 60 words, so "stream"
# is in most messages (the worst case) and a phrase in many.
QUERIES: list[tuple[str, str, dict[str, str]]] = [
    ("a rare word (1 match)", NEEDLE, {}),
    ("a word in most messages", "stream", {}),
    ("two words", "markdown terminal", {}),
    ('a phrase: "stream reply"', '"stream reply"', {}),
    ("a prefix: pars*", "pars*", {}),
    ("a word, --role user", "stream", {"role": "user"}),
    ("a word, --session (one of them)", "stream", {"session": "MIDDLE"}),
]


def bench_search(sizes: Sizes) -> list[Row]:
    n, m = sizes.store_sessions, sizes.store_messages
    repeats, warmup = sizes.repeats, sizes.warmup
    label = f"{n} sessions × {m} msgs"
    floor = Row("search", "floor: bare FTS5 MATCH, first 20")
    build = Row("search", f"index from nothing, {label}", note="once")
    rows = [
        Row("search", f":find {case}", floor=floor, goal=Goal("abs", 0.05))
        for case, _, _ in QUERIES
    ]
    after = Row(
        "search", ":find right after a turn in one session", floor=floor, goal=Goal("abs", 0.05)
    )
    with scratch() as tmp:
        home = Homes(tmp).new()
        t = time.perf_counter()
        size = make_store(home, n, m)
        texts = Texts(random.Random(3))
        write_session(home / "sessions", "needle", 20, created=1_600_000_000.0, texts=texts)
        store = Store(home)
        store.append("needle", {"t": "msg", "role": "user", "content": f"a {NEEDLE} tart"})
        print(
            f"bench: wrote {n + 1} sessions, {size / 1e6:.0f} MB, "
            f"in {time.perf_counter() - t:.1f} s",
            file=sys.stderr,
            flush=True,
        )
        with SearchIndex(store) as index:
            t0, c0 = time.perf_counter(), time.process_time()
            report = index.sync()
            build.samples.append(
                Sample(wall=time.perf_counter() - t0, cpu=time.process_time() - c0)
            )
            size_mb = (home / INDEX_FILE).stat().st_size / 1e6
            build.note = f"{report.indexed} sessions; index {size_mb:.0f} MB"
            raw = sqlite3.connect(home / INDEX_FILE)
            for timed in [False] * warmup + [True] * repeats:
                for row, (_, query, given) in zip(rows, QUERIES, strict=True):
                    middle = f"s{n // 2:04d}"
                    filters = {k: middle if v == "MIDDLE" else v for k, v in given.items()}
                    sample, hits = _timed(lambda q=query, f=filters: index.search(q, **f))
                    if not hits:
                        row.problem(f"no hits for {query!r}")
                    if timed:
                        row.samples.append(sample)
                f, _ = _timed(
                    lambda: raw.execute(
                        "SELECT rowid FROM msgs WHERE msgs MATCH ? LIMIT 20", ('"stream"',)
                    ).fetchall()
                )
                store.append("s0007", {"t": "msg", "role": "user", "content": "one more stream"})
                a, hits = _timed(lambda: index.search("stream", session="s0007"))
                if not any(h.n == len(store.load("s0007").data.messages) for h in hits):
                    after.problem("the new message was not found")
                if timed:
                    floor.samples.append(f)
                    after.samples.append(a)
            raw.close()
    return [floor, build, *rows, after]


def _timed(fn: Callable[[], Sequence[object]]) -> tuple[Sample, list[object]]:
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return Sample(wall=time.perf_counter() - t0, cpu=time.process_time() - c0), list(out)
