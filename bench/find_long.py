"""``:find`` on the long session (issue 26, goal 2): the search index's sync
after one more turn. Writes the 200,000-message session
(``storegen.write_long_session``), syncs the index once (the whole session),
then ``--turns`` times appends a turn (a prompt and a reply, as the shell
does) and times the next ``:find`` (sync, then the query), in-process.

    PYTHONPATH=. .venv/bin/python bench/find_long.py [--messages N] [--turns K]
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from storegen import write_long_session  # noqa: E402

from copilot_repl.history.search import SearchIndex  # noqa: E402
from copilot_repl.history.store import Store  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--turns", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "sessions").mkdir(mode=0o700)
        size = write_long_session(root / "sessions", "big", args.messages)
        store = Store(root)
        with SearchIndex(store) as index:
            t = time.perf_counter()
            first = index.sync()
            print(
                f"first sync, {size / 1e6:.0f} MB, {args.messages} messages: "
                f"{time.perf_counter() - t:.2f} s ({first.rows} rows)",
                flush=True,
            )
            for turn in range(args.turns):
                word = f"zanzibar{turn}"
                store.append(
                    "big",
                    {"t": "msg", "role": "user", "content": f"one more {word}", "ts": time.time()},
                    {"t": "msg", "role": "assistant", "content": "ok", "ts": time.time()},
                )
                t = time.perf_counter()
                hits = index.search(word)
                wall = time.perf_counter() - t
                assert [h.n for h in hits] == [args.messages + 2 * turn + 1], hits
                print(f"after one more turn: :find (sync + query) {wall:.3f} s", flush=True)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
