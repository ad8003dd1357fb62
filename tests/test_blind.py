"""Blind A/B in script mode: neutral labels in random order, no model name on
screen before the vote, the vote on disk, then the reveal and the scores."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli, run_proc
from fakeserver import FakeServer

from copilot_repl.history.votes import VoteStore
from copilot_repl.repl.masks import Masks

SETUP = ":new a --model gpt-4o-mini\n:new b --model slow\n"
MODEL_WORDS = ("gpt-4o-mini", "slow", "openai")


def test_models_hidden_until_the_vote(server: FakeServer, home: Path) -> None:
    script = (
        SETUP + ":blind a,b Explain the lock #deltas=5\n:jobs\n:ls\n:diff blind\n:vote b\n:ls\n"
    )
    r = run_proc(["--base-url", server.url], stdin=script.replace(":diff blind\n", ""))
    assert r.code == 0, r.err
    before, _, after = r.out.partition("\nA ")
    # the replies under their labels, the models hidden, in :ls too
    assert "(hidden)" in before and before.count(" hidden ") == 2
    blind_lines = [line for line in before.splitlines() if "blind-" in line]
    assert blind_lines and not any(w in line for line in blind_lines for w in MODEL_WORDS)
    notes = r.err.partition("blind-")[2].partition("vote recorded")[0]  # after :new's notes
    assert notes and not any(w in notes for w in MODEL_WORDS)
    # the reveal: a table of label, model, source session
    reveal = ("A " + after).splitlines()[:2]
    assert {line.split()[1] for line in reveal} == {"openai:gpt-4o-mini", "openai:slow"}
    assert any("← your pick" in line for line in reveal if line.startswith("B "))
    assert "TTFT" in "\n".join(reveal)  # (no tok/s for 6 tokens: not meaningful)
    # after the vote :ls names the models
    assert "hidden" not in after
    votes, warnings = VoteStore(home).load()
    assert warnings == [] and len(votes) == 1
    vote = votes[0]
    assert vote.verdict == "B" and vote.prompt == "Explain the lock #deltas=5"
    assert sorted(s.source for s in vote.labels.values()) == ["a", "b"]
    assert {s.session for s in vote.labels.values()} == {f"{vote.name}-A", f"{vote.name}-B"}
    winner = vote.labels["B"]
    assert vote.winner == winner.model


def test_label_order_is_random(server: FakeServer, home: Path) -> None:
    rounds = "".join(":blind a,b hi\n:vote A\n" for _ in range(16))
    r = run_cli(["--base-url", server.url], stdin=SETUP + rounds)
    assert r.code == 0, r.err
    firsts = [v.labels["A"].source for v in VoteStore(home).load()[0]]
    assert len(firsts) == 16
    assert set(firsts) == {"a", "b"}  # fails with probability 2 ** -15 if the order were fair


def test_blind_sessions_take_model_and_system_of_their_sources(
    server: FakeServer, home: Path
) -> None:
    script = ':new a --model echo --system "be terse"\n:new b --model echo\n'
    script += ":blind a,b same model twice\n:vote tie\n:scores --json\n"
    r = run_cli(["--base-url", server.url], stdin=script)
    assert r.code == 0, r.err
    firsts = sorted(req["body"]["messages"][0]["content"] for req in server.requests[-2:])
    assert firsts == ["be terse", "same model twice"]  # b has no system prompt
    # one model compared with itself: rated per source session
    doc = json.loads(r.out[r.out.index("{") :])
    assert sorted(m["model"] for m in doc["models"]) == ["openai:echo (a)", "openai:echo (b)"]
    assert all(m["ties"] == 1 for m in doc["models"])


def test_vote_errors_are_one_line(server: FakeServer) -> None:
    r = run_cli(["--base-url", server.url], stdin=":vote A\n")
    assert r.code == 1 and "no blind comparison waits" in r.err
    r = run_cli(["--base-url", server.url], stdin=SETUP + ":blind a,b hi\n:vote C\n:vote a\n")
    assert r.code == 1 and "vote A|B|tie|bad, not 'C'" in r.err
    assert "vote recorded (A)" in r.err
    r = run_cli(["--base-url", server.url], stdin=SETUP + ":blind a,b hi\n:blind a,b again\n")
    assert r.code == 1 and "waits for its vote" in r.err
    r = run_cli(["--base-url", server.url], stdin=":blind a,a hi\n:blind a hi\n")
    assert r.err.count("copilot-repl: error: name two sessions or more") == 2


def test_an_error_from_a_blind_session_does_not_name_its_model(server: FakeServer) -> None:
    script = ":new a --model missing-model\n:new b --model slow\n:blind a,b hi\n"
    r = run_cli(["--base-url", server.url], stdin=script)
    errors = [line for line in r.err.splitlines() if "error" in line]
    assert errors and "(hidden)" in errors[0]
    assert not any("missing-model" in line for line in errors)


def test_masks_scrub_whole_names_only() -> None:
    masks = Masks()
    assert masks.scrub("s", "model gpt-4o at openai") == "model gpt-4o at openai"
    masks.hide("s", "openai:gpt-4o")
    masks.hide("t", "local:smollm2")
    assert masks.scrub("s", "gpt-4o at openai; not gpt-4o-mini") == (
        "(hidden) at (hidden); not gpt-4o-mini"
    )
    assert masks.scrub("s", "local:smollm2 failed") == "(hidden) failed"
    assert masks.scrub("other", "gpt-4o") == "gpt-4o"  # only about blind sessions
    assert masks.model("s", "openai:gpt-4o") == "hidden" and masks.model("x", "m") == "m"
    masks.reveal("s")
    assert masks.model("s", "openai:gpt-4o") == "openai:gpt-4o"
