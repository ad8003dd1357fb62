"""The shell's Markdown renderer alone: feed N fakeserver deltas to
``copilot_repl.render.markdown_stream.MarkdownStream`` on a 120x40 colour console writing to
/dev/null, no network, no pty. Prints the seconds the feeding took.

    .venv/bin/python bench/render_only.py 20000
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))


def main() -> int:
    from fakeserver import markdown_deltas
    from rich.console import Console

    from copilot_repl.render.markdown_stream import MarkdownStream

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    deltas = markdown_deltas(n)
    with open(os.devnull, "w") as sink:
        console = Console(
            file=sink,
            width=120,
            height=40,
            force_terminal=True,
            color_system="256",
            markup=False,
            emoji=False,
            highlight=False,
        )
        stream = MarkdownStream(console)
        t = time.perf_counter()
        for delta in deltas:
            stream.feed(delta)
        stream.finish()
        elapsed = time.perf_counter() - t
    print(f"{elapsed:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
