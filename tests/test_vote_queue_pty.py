"""The vote queue of a blind batch, end to end: ``compare --blind`` over 20
prompts makes 20 pairs with neutral session names and hidden models; then
``copilot-repl vote`` in a real pseudo-terminal shows each pair (prompt, the
two replies side by side, ``N of 20``), takes one key per verdict, skips,
quits and resumes where it stopped. What is checked is the screen (pyte)
and the votes on disk. Timeouts are guards, not timing assertions."""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from pathlib import Path

import pexpect
import pyte
import pytest
from conftest import run_proc
from fakeserver import FakeServer
from pty_harness import GUARD, ROOT, Term

from copilot_repl.history.blinds import BlindStore
from copilot_repl.history.votes import VoteStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
ROWS, COLS = 40, 120
MODELS = ("gpt-4o-mini", "echo")


class Screen:
    """A process in a pseudo-terminal, seen as a person sees its screen."""

    def __init__(self, args: list[str], home: Path) -> None:
        env = {**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "xterm"}
        env.pop("NO_COLOR", None)
        child = pexpect.spawn(
            sys.executable,
            ["-m", "copilot_repl", *args],
            env=env,
            cwd=str(ROOT),
            dimensions=(ROWS, COLS),
            encoding="utf-8",
            timeout=GUARD,
        )
        self.term = Term(child)
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.Stream(self.screen)
        self.fed = 0

    def text(self) -> str:
        with contextlib.suppress(pexpect.EOF):  # it has ended: what it showed stays
            self.term.pump(0.05)
        self.stream.feed(self.term.raw[self.fed :])
        self.fed = len(self.term.raw)
        return "\n".join(self.screen.display)

    def wait_for(self, pattern: str) -> re.Match[str]:
        end = time.monotonic() + GUARD
        while True:
            found = re.search(pattern, self.text())
            if found:
                return found
            if time.monotonic() > end:
                raise AssertionError(f"{pattern!r} not on screen:\n{self.text()}")

    def key(self, k: str) -> None:
        self.term.send(k)

    def exit_status(self) -> int:
        return self.term.exit_status()


def _blind_batch(server: FakeServer, tmp_path: Path) -> tuple[list[str], str]:
    lines = []
    for k in range(1, 21):
        if k in (1, 11):
            lines.append("# tag: " + ("code" if k == 1 else "prose"))
        lines.append(f"question number {k}")
    prompts = tmp_path / "twenty.txt"
    prompts.write_text("\n".join(lines) + "\n")
    args = ["--base-url", server.url, "compare", "--blind", "--name", "q20"]
    r = run_proc([*args, "--models", ",".join(MODELS), "--prompts", str(prompts)])
    assert r.code == 0, r.err
    return lines, r.err


def test_a_blind_batch_is_voted_through_the_queue(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    _, err = _blind_batch(server, tmp_path)
    assert "20 of 20 pairs wait for a vote" in err
    progress = [line for line in err.splitlines() if line.startswith("[")]
    assert len(progress) == 40 and not any(m in line for line in progress for m in MODELS)
    # neutral session names, models hidden from another process
    r = run_proc(["--base-url", server.url, "sessions", "list", "--json"])
    rows = [row for row in json.loads(r.out) if row["name"].startswith("q20-")]
    assert len(rows) == 40 and {row["model"] for row in rows} == {"hidden"}
    assert not any(m in row["name"] for row in rows for m in MODELS)
    pending = BlindStore(home).pending()
    assert [p.index for p in pending] == list(range(1, 21))
    assert [p.tag for p in pending] == ["code"] * 10 + ["prose"] * 10

    # the queue: 8 votes, a skip, then quit
    s = Screen(["--base-url", server.url, "vote"], home)
    s.wait_for(r"1 of 20 · a: A better")
    shown = s.text()
    assert "question number 1" in shown and "tag: code" in shown
    assert len(re.findall(r"echo: question number 1\b", shown)) == 2  # side by side
    assert "gpt-4o-mini" not in shown and "openai" not in shown  # ("echo: " is the reply)
    for number, key in enumerate("aaaabtxa", 1):
        s.key(key)
        s.wait_for(rf"{number + 1} of 20 · ")
    s.wait_for(r"question number 9\b")
    s.key("s")  # pair 9: later
    s.wait_for(r"question number 10\b")
    s.wait_for(r"10 of 20 · .*skipped 9")
    s.key("a")
    s.wait_for(r"question number 11\b.*")
    s.key("q")
    assert s.exit_status() == 0
    assert "9 recorded; 11 waiting; run copilot-repl vote again" in s.text()
    assert len(VoteStore(home).load()[0]) == 9

    # resumed: the skipped pair first, numbered after the 9 voted
    s = Screen(["--base-url", server.url, "vote"], home)
    s.wait_for(r"10 of 20 · ")
    assert "question number 9" in s.text()
    for number in range(10, 21):
        s.wait_for(rf"{number} of 20 · ")
        s.key("b")
    assert s.exit_status() == 0
    assert "11 recorded; 0 waiting" in s.text()
    votes, warnings = VoteStore(home).load()
    assert warnings == [] and len(votes) == 20
    assert all(v.run == "q20" and v.by == "human" for v in votes)
    by_prompt = {v.prompt: v for v in votes}
    verdicts = [by_prompt[f"question number {k}"].verdict for k in (1, 5, 6, 7, 9, 10)]
    assert verdicts == ["A", "B", "tie", "bad", "B", "A"]
    assert {v.tag for v in votes} == {"code", "prose"}
    assert BlindStore(home).pending() == []
    # every session's model shows now
    r = run_proc(["--base-url", server.url, "sessions", "list"])
    assert "hidden" not in r.out and "openai:echo" in r.out


def test_vote_alone_in_the_shell_walks_the_queue(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    prompts = tmp_path / "two.txt"
    prompts.write_text("first one\nsecond one\n")
    args = ["--base-url", server.url, "compare", "--blind", "--models", ",".join(MODELS)]
    assert run_proc([*args, "--prompts", str(prompts)]).code == 0
    s = Screen(["--base-url", server.url], home)
    s.wait_for(r"(hidden|openai:\S+) ›")
    s.term.line(":ls --all")  # compare's sessions are left out of :ls
    s.wait_for(r"cmp-\w+-1-\w{4} +hidden")
    s.term.line(":vote")
    s.wait_for(r"1 of 2 · a: A better")
    s.key("t")
    s.wait_for(r"2 of 2 · ")
    s.key("a")
    s.wait_for(r"2 votes recorded; 0 waiting")
    s.wait_for(r"openai:\S+ ›")  # the prompt is back, the model shown
    s.term.line(":ls --all")  # compare's sessions are left out of :ls
    s.wait_for(r"cmp-\w+-1-\w{4} +openai:")
    s.term.send("\x04")
    assert s.exit_status() == 0
    assert sorted(v.verdict for v in VoteStore(home).load()[0]) == ["A", "tie"]


def test_a_long_pair_scrolls(server: FakeServer, home: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "long.txt"
    prompts.write_text("a long one #deltas=400\n")
    args = ["--base-url", server.url, "compare", "--blind", "--models", ",".join(MODELS)]
    assert run_proc([*args, "--prompts", str(prompts)]).code == 0
    s = Screen(["--base-url", server.url, "vote"], home)
    found = s.wait_for(r"1 of 1 · .* lines 1-(\d+) of (\d+) ↑↓")
    shown, total = int(found.group(1)), int(found.group(2))
    assert shown == ROWS - 1 and total > 2 * shown
    assert "a long one" in s.text()  # the prompt heads the page
    s.key("\x1b[6~")  # Page Down
    s.wait_for(rf"lines {shown + 1}-{2 * shown} of {total}")
    assert "a long one" not in s.text()
    s.key("\x1b[5~")  # Page Up
    s.wait_for(rf"lines 1-{shown} of {total}")
    s.key("q")
    assert s.exit_status() == 0
    assert len(BlindStore(home).pending()) == 1  # quitting votes nothing
