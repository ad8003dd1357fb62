"""Make docs/report.png: the HTML report of a real blind batch, shot by
headless Chromium. Run from the repository's root:

    python docs/report_screenshot.py

Three models of the loopback test server (tests/fakeserver.py) answer six
prompts (two tags) with fixed replies; a judge model prefers the longer,
code-bearing reply (and says "tie" now and then); people's votes are cast
through `copilot-repl vote` (mostly for the same reply); then
`copilot-repl compare --report` writes the page and Chromium takes the shot.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from fakeserver import FakeServer, Reply  # noqa: E402

from copilot_repl.history.blinds import BlindStore  # noqa: E402

ANSWERS = {
    "gpt-4o-mini": "A list comprehension builds the list in one expression:\n\n"
    "    squares = [x * x for x in range(10)]\n\nIt is faster than appending in a loop.",
    "llama3.2": "Use `[x*x for x in range(10)]`.",
    "qwen2.5": "You can write a for loop and append each square to a list; "
    "a comprehension also works.",
}
RANK = {"gpt-4o-mini": 0, "qwen2.5": 1, "llama3.2": 2}
PROMPTS = """\
# tag: code
Square the numbers 0-9 in Python
Reverse a string in Python
Read a file line by line
Merge two dicts
# tag: explain
What is a list comprehension?
When is a generator better than a list?
"""


def contestant(name: str) -> Any:
    def reply(body: dict[str, Any]) -> Reply:
        asked = body["messages"][-1]["content"][:40]
        delay = 0.01 * (1 + list(ANSWERS).index(name))
        return Reply(text=f"{ANSWERS[name]}\n\n({asked})", delay=delay)

    return reply


def judge(body: dict[str, Any]) -> Reply:
    text = body["messages"][-1]["content"]
    a, b = text.index("Reply A:"), text.index("Reply B:")

    def rank(part: str) -> int:
        return next((RANK[k] for k, v in ANSWERS.items() if v[:30] in part), 9)

    if random.random() < 0.2:
        return Reply(text="tie - both are fine")
    better = "A" if rank(text[a:b]) < rank(text[b:]) else "B"
    return Reply(text=f"{better} - more complete and shows the code")


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="report-shot-"))
    env = {**os.environ, "COPILOT_REPL_HOME": str(work / "home")}
    prompts = work / "prompts.txt"
    prompts.write_text(PROMPTS)
    report = work / "report.html"
    with FakeServer() as server:
        for model in ANSWERS:
            server.responders[model] = contestant(model)
        server.responders["judge"] = judge
        base = [sys.executable, "-m", "copilot_repl", "--base-url", server.url]
        compare = [*base, "compare", "--blind", "--models", ",".join(ANSWERS)]
        compare += ["--prompts", str(prompts), "--judge", "judge", "--name", "demo"]
        subprocess.run(compare, env=env, check=True, cwd=ROOT)
        rng = random.Random(7)
        for pair in BlindStore(work / "home").pending("demo"):
            models = {label: side.model.partition(":")[2] for label, side in pair.labels.items()}
            best = min(models, key=lambda label: RANK[models[label]])
            verdict = best if rng.random() < 0.7 else rng.choice(["tie", "A", "B"])
            subprocess.run([*base, "vote", pair.name, verdict], env=env, check=True, cwd=ROOT)
        subprocess.run([*compare, "--report", str(report)], env=env, check=True, cwd=ROOT)
    browser = shutil.which("chromium") or "chromium"
    shot = ROOT / "docs" / "report.png"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         f"--user-data-dir={work / 'chromium'}", f"--screenshot={shot}",
         "--window-size=1100,1500", report.as_uri()],
        check=True,
    )
    print(f"{shot} from {report}")


if __name__ == "__main__":
    main()
