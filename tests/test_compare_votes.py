"""The votes file: append-only, whole lines under a lock, tolerant reading."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from copilot_repl.errors import StoreError
from copilot_repl.history.votes import Side, Vote, VoteStore


def vote(verdict: str = "A", prompt: str = "Explain the GIL") -> Vote:
    labels = {
        "A": Side("blind-1-A", "openai:m1", "openai:m1", "a"),
        "B": Side("blind-1-B", "openai:m2", "openai:m2", "b"),
    }
    return Vote(prompt=prompt, labels=labels, verdict=verdict, name="blind-1")


def test_round_trip(tmp_path: Path) -> None:
    store = VoteStore(tmp_path)
    assert store.load() == ([], [])
    first, second = vote("A"), vote("tie", prompt="ünïcode\nprompt")
    store.append(first)
    store.append(second)
    votes, warnings = store.load()
    assert votes == [first, second] and warnings == []
    assert votes[0].winner == "openai:m1" and votes[1].winner is None
    assert votes[0].contestants == ("openai:m1", "openai:m2")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600


def test_bad_lines_are_skipped_and_said(tmp_path: Path) -> None:
    store = VoteStore(tmp_path)
    store.append(vote())
    newer = {**vote().to_dict(), "v": 99}
    with open(store.path, "a") as f:
        f.write("{not json\n" + json.dumps(newer) + "\n")
    store.append(vote("B"))
    votes, warnings = store.load()
    assert [v.verdict for v in votes] == ["A", "B"]
    assert len(warnings) == 2
    assert "line 2" in warnings[0] and "line 3" in warnings[1] and "newer" in warnings[1]


def test_a_deeply_nested_line_or_a_lone_surrogate_breaks_nothing(tmp_path: Path) -> None:
    store = VoteStore(tmp_path)
    store.append(vote())
    with open(store.path, "a") as f:
        f.write("[" * 100_000 + "\n")
    store.append(vote("B", prompt="a \ud800 b"))  # written escaped, not a UnicodeEncodeError
    votes, warnings = store.load()
    assert [v.verdict for v in votes] == ["A", "B"] and votes[1].prompt == "a \ud800 b"
    assert len(warnings) == 1 and "line 2 skipped: nested too deeply" in warnings[0]


def test_torn_last_line_is_closed_before_the_next_vote(tmp_path: Path) -> None:
    store = VoteStore(tmp_path)
    store.append(vote())
    with open(store.path, "a") as f:
        f.write('{"t":"vote","v":1,"id":"x"')  # a crash mid-write
    assert "unfinished record" in store.load()[1][0]
    store.append(vote("B"))
    votes, warnings = store.load()
    assert [v.verdict for v in votes] == ["A", "B"]
    assert len(warnings) == 1 and "line 2" in warnings[0]


def test_never_through_a_symlink(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    target.write_text("")
    (tmp_path / "votes.jsonl").symlink_to(target)
    with pytest.raises(StoreError, match="symbolic link"):
        VoteStore(tmp_path).append(vote())
    assert target.read_text() == ""


def test_a_vote_must_make_sense() -> None:
    with pytest.raises(ValueError):
        vote("C")
    with pytest.raises(ValueError):
        Vote("p", {"A": Side("s", "m", "m")}, "A")
    with pytest.raises(ValueError, match="lacks"):
        Vote.from_dict({**vote().to_dict(), "labels": {"A": {"session": "s"}, "B": {}}})


WRITER = """
import sys
from copilot_repl.history.votes import Side, Vote, VoteStore
store = VoteStore(sys.argv[1])
labels = {"A": Side("s-A", "m:1", "m:1"), "B": Side("s-B", "m:2", "m:2")}
for k in range(int(sys.argv[2])):
    store.append(Vote(prompt="x" * 5000 + str(k), labels=labels, verdict="A", name=sys.argv[3]))
"""


def test_processes_appending_at_once_never_mix_lines(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), "40", f"w{n}"])
        for n in range(3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    votes, warnings = VoteStore(tmp_path).load()
    assert warnings == []
    assert len(votes) == 120
    assert sorted({v.name for v in votes}) == ["w0", "w1", "w2"]
