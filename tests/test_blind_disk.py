"""A blind comparison lives on disk until its vote: voted after a restart or
from another process (``copilot-repl vote``), its models hidden from every
process meanwhile (``:ls``, ``sessions list``, ``--json``, exports), and an
abandoned one listed and dropped."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from conftest import run_cli, run_proc
from fakeserver import FakeServer

from copilot_repl.api.turn import Turn, TurnState
from copilot_repl.history.blinds import BlindStore, Pending
from copilot_repl.history.votes import Side, VoteStore

SETUP = ":new a --model gpt-4o-mini\n:new b --model slow\n"
MODEL_WORDS = ("gpt-4o-mini", "slow", "openai")


def _started(server: FakeServer, home: Path) -> str:
    """Start a blind round in a process that ends before the vote; its name."""
    r = run_proc(["--base-url", server.url], stdin=SETUP + ":blind a,b What is a lock?\n")
    assert r.code == 0, r.err
    found = re.search(r"(blind-[0-9a-f]{4}): A, B answer", r.err)
    assert found, r.err
    return found.group(1)


def _no_model(text: str) -> bool:
    return not any(w in text for w in MODEL_WORDS)


def test_voted_in_another_process_and_hidden_everywhere_before(
    server: FakeServer, home: Path
) -> None:
    name = _started(server, home)
    url = ["--base-url", server.url]
    # sessions list, in text and as JSON
    r = run_proc([*url, "sessions", "list"])
    lines = [line for line in r.out.splitlines() if name in line]
    assert len(lines) == 2 and all("hidden" in line and _no_model(line) for line in lines)
    rows = json.loads(run_proc([*url, "sessions", "list", "--json"]).out)
    assert {r["model"] for r in rows if r["name"].startswith(name)} == {"hidden"}
    # exports and show: no model, no figures
    for fmt in ("json", "md", "html"):
        r = run_proc([*url, "sessions", "export", f"{name}-A", "--format", fmt])
        assert r.code == 0 and "hidden" in r.out and _no_model(r.out), (fmt, r.out)
        assert "tok_s" not in r.out and "ttft" not in r.out
    r = run_proc([*url, "sessions", "show", f"{name}-B", "--json"])
    assert r.code == 0 and _no_model(r.out) and "echo: What is a lock?" in r.out
    # another shell (script mode): :ls, :model on the blind session, --json events
    script = f":ls\n:switch {name}-A\n:model\none more question\n"
    r = run_proc([*url, "--json"], stdin=script)
    assert r.code == 0, r.err
    docs = list(map(json.loads, r.out.splitlines()))
    table = next(d for d in docs if d["type"] == "copilot_repl.table")
    rows = [row for row in table["data"]["rows"] if name in row[1]]
    assert len(rows) == 2 and all(row[2] == "hidden" for row in rows)
    blind_docs = [d for d in docs if d.get("sessionId", "").startswith(name)]
    assert blind_docs and all(_no_model(json.dumps(d)) for d in blind_docs), blind_docs
    assert any(d.get("data", {}).get("model") == "hidden" for d in blind_docs)
    assert _no_model(r.err.partition(f"{name}-A")[2])
    # the vote, from yet another process: the reveal names the models
    r = run_proc([*url, "vote", "--list"])
    assert name in r.out and _no_model(r.out)
    r = run_proc([*url, "vote", "b"])
    assert r.code == 0, r.err
    assert "vote recorded (B)" in r.err
    assert {line.split()[1] for line in r.out.splitlines()[1:]} == {
        "openai:gpt-4o-mini",
        "openai:slow",
    }
    votes, _ = VoteStore(home).load()
    assert [v.name for v in votes] == [name] and votes[0].verdict == "B"
    # revealed everywhere now; nothing waits
    r = run_proc([*url, "sessions", "list"])
    assert "hidden" not in r.out and "openai:slow" in r.out
    assert BlindStore(home).pending() == []
    r = run_proc([*url, "vote", "A"])
    assert r.code == 1 and "no blind comparison waits for a vote" in r.err


def test_vote_after_a_restart_in_the_repl(server: FakeServer, home: Path) -> None:
    name = _started(server, home)
    r = run_cli(["--base-url", server.url], stdin=":ls\n:vote tie\n:ls\n")
    assert r.code == 0, r.err
    before, _, after = r.out.partition("\nA ")
    assert all(_no_model(line) for line in before.splitlines() if name in line)
    assert f"{name}-A" in after and "openai:slow" in after
    assert "vote recorded (a tie)" in r.err
    assert [v.verdict for v in VoteStore(home).load()[0]] == ["tie"]


def test_an_abandoned_blind_is_listed_and_dropped(server: FakeServer, home: Path) -> None:
    name = _started(server, home)
    url = ["--base-url", server.url]
    r = run_cli(url, stdin=":switch a\n:blind a,b another\n")
    assert r.code == 1 and f"{name} waits for its vote" in r.err and f"drop {name}" in r.err
    r = run_cli(url, stdin=":blinds\n")
    assert name in r.out and "What is a lock?" in r.out
    r = run_cli(url, stdin=f":blinds drop {name}\n:blinds\n:ls\n")
    assert r.code == 0, r.err
    assert "dropped 1 blind comparison" in r.err
    assert "no blind comparison waits" in r.out and "openai:slow" in r.out
    assert VoteStore(home).load()[0] == []  # dropping is not voting
    r = run_cli(url, stdin=f":blinds drop {name}\n")
    assert r.code == 1 and "waits for a vote" in r.err


def test_a_crash_between_the_vote_and_the_drop_never_counts_twice(tmp_path: Path) -> None:
    sides = {
        "A": Side("r-A", "openai:x", "openai:x"),
        "B": Side("r-B", "openai:y", "openai:y"),
    }
    blinds = BlindStore(tmp_path)
    pending = Pending("r", "p", sides)
    blinds.save(pending)
    assert blinds.hidden() == {"r-A": "openai:x", "r-B": "openai:y"}
    VoteStore(tmp_path).append(pending.vote("A"))  # the process dies here
    assert blinds.pending() == []  # the vote is in: the leftover file goes
    assert not blinds.path("r").exists() and blinds.hidden() == {}
    assert len(VoteStore(tmp_path).load()[0]) == 1


def test_a_damaged_pending_file_is_skipped_and_said(tmp_path: Path) -> None:
    blinds = BlindStore(tmp_path)
    blinds.dir.mkdir(parents=True)
    (blinds.dir / "bad.json").write_text("{not json")
    assert blinds.pending() == [] and "bad.json skipped" in blinds.warnings[0]


def test_a_blind_column_shows_no_figure_that_tells_models_apart() -> None:
    from copilot_repl.shell.display import _blind_figures, _figures

    turn = Turn(session_id="blind-1-A", model="openai:slow")
    turn.parts, turn.chars, turn.tokens = ["echo: hi"], 8, 60
    turn.started = turn.created
    turn.first_token, turn.last_token = turn.created + 0.3, turn.created + 2.7
    turn.ended = turn.created + 2.7
    turn.state = TurnState.DONE
    assert "TTFT" in _figures(turn) and "tok/s" in _figures(turn)  # not blind: all of it
    assert _blind_figures(turn) == "60 tokens"  # before the vote: no time, no speed


def test_a_blind_whose_session_was_removed_says_so(server: FakeServer, home: Path) -> None:
    name = _started(server, home)
    r = run_cli(["--base-url", server.url], stdin=f":rm {name}-A\n:vote A\n")
    assert r.code == 1 and f"{name}-A no longer exists; :blinds drop {name}" in r.err


def test_find_by_model_does_not_give_a_blind_away(server: FakeServer, home: Path) -> None:
    name = _started(server, home)
    r = run_cli(["--base-url", server.url], stdin=":find lock --model slow\n:find lock\n")
    assert r.code == 0, r.err
    hidden_hits = [line for line in r.out.splitlines() if name in line]
    assert len(hidden_hits) == 4  # found by their words (prompt and reply), not by model
    assert "no message matches" in r.err


def test_vote_from_the_command_line_without_a_terminal(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    url = ["--base-url", server.url]
    r = run_cli([*url, "compare", "--blind", "--models", "echo,slow", "--prompts", str(prompts)])
    assert r.code == 0, r.err
    listed = json.loads(run_cli([*url, "vote", "--list", "--json"]).out)
    assert [(p["index"], p["of"], p["labels"]) for p in listed] == [
        (1, 2, ["A", "B"]),
        (2, 2, ["A", "B"]),
    ]
    run = listed[0]["run"]
    r = run_cli([*url, "vote"])  # the queue needs a terminal
    assert r.code == 2 and "2 comparisons wait; the queue needs a terminal" in r.err
    r = run_cli([*url, "vote", listed[1]["name"], "x"])
    assert r.code == 2 and "vote A|B|tie|bad, not 'x'" in r.err
    r = run_cli([*url, "vote", listed[1]["name"], "bad", "--json"])
    assert r.code == 0 and json.loads(r.out)["vote"]["verdict"] == "bad"
    r = run_cli([*url, "vote", "--drop", run])  # a batch's name: what is left of it
    assert r.code == 0 and f"dropped 1: {listed[0]['name']}" in r.out
    assert BlindStore(home).pending() == []
    assert [v.verdict for v in VoteStore(home).load()[0]] == ["bad"]


def test_a_blind_batch_hides_its_sessions_before_the_first_request(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    seen: list[dict[str, str]] = []

    def look(body: dict[str, Any]) -> None:
        seen.append(dict(BlindStore(home).hidden()))  # what another process would hide now

    server.responders["echo"] = look
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    url = ["--base-url", server.url]
    r = run_cli([*url, "compare", "--blind", "--models", "echo,slow", "--prompts", str(prompts)])
    assert r.code == 0, r.err
    assert len(seen) == 2 and all(len(hidden) == 4 for hidden in seen)
    assert set(seen[0].values()) == {"openai:echo", "openai:slow"}
