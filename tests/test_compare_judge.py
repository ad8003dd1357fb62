"""``compare --judge MODEL``: a model votes on each pair, twice with the
replies swapped (a disagreement is a tie), its reasons kept; ``:scores --by
judge|human`` and how often the two agree; ``:scores --tag``. The judge and
the contestants are models of the loopback server whose answers the test
decides (``FakeServer.responders``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli
from fakeserver import FakeServer, Reply

from copilot_repl.history.blinds import BlindStore
from copilot_repl.history.votes import VoteStore
from copilot_repl.repl.batch import parse_tagged
from copilot_repl.repl.judge import combine, parse

PROMPTS = "# tag: code\nwrite a loop\nfix this bug\n# tag: prose\na haiku\n# tag:\nuntagged one\n"


def _replies(server: FakeServer) -> None:
    server.responders["good"] = lambda body: Reply(text="GOOD: a careful answer")
    server.responders["poor"] = lambda body: Reply(text="poor: a sloppy answer")


def _user(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"])


def fair(body: dict[str, Any]) -> Reply:
    """Prefers the careful reply wherever it stands."""
    text = _user(body)
    first = text.index("Reply A:")
    good = text.index("GOOD")
    return Reply(
        text=("A" if good > first and good < text.index("Reply B:") else "B") + " - careful"
    )


def _compare(server: FakeServer, tmp_path: Path, judge: str, name: str) -> Any:
    prompts = tmp_path / "p.txt"
    prompts.write_text(PROMPTS)
    args = ["--base-url", server.url, "compare", "--blind", "--models", "good,poor"]
    return run_cli([*args, "--prompts", str(prompts), "--judge", judge, "--name", name])


def _documents(text: str) -> list[Any]:
    """The JSON documents printed one after another (with lines between)."""
    decoder, out, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        doc, at = decoder.raw_decode(text, at)
        out.append(doc)
    return out


def _judge_requests(server: FakeServer, model: str) -> list[str]:
    return [
        _user(r["body"])
        for r in server.requests
        if isinstance(r.get("body"), dict) and r["body"].get("model") == model
    ]


def test_a_fair_judge_votes_and_agrees_with_people(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    _replies(server)
    server.responders["fair"] = fair
    r = _compare(server, tmp_path, "fair", "j1")
    assert r.code == 0, r.err
    assert "openai:fair judged 4 of 4 pairs" in r.err
    asked = _judge_requests(server, "fair")
    assert len(asked) == 8  # each pair twice
    votes, _ = VoteStore(home).load()
    judged = [v for v in votes if v.by == "judge"]
    assert len(judged) == 4 and {v.judge for v in judged} == {"openai:fair"}
    assert {v.winner for v in judged} == {"openai:good"}
    assert all("careful" in v.reason and "swapped" in v.reason for v in judged)
    assert sorted(v.tag for v in judged) == ["", "code", "code", "prose"]
    # the judge's votes leave the pairs waiting for people
    pending = BlindStore(home).pending("j1")
    assert len(pending) == 4
    # people vote: the careful reply three times, the sloppy one once
    for k, p in enumerate(pending):
        want = "openai:good" if k < 3 else "openai:poor"
        label = next(lab for lab, side in p.labels.items() if side.model == want)
        assert run_cli(["--base-url", server.url, "vote", p.name, label]).code == 0
    r = run_cli([], stdin=":scores --by judge --json\n:scores --json\n:scores\n")
    assert r.code == 0, r.err
    by_judge, by_people = _documents(r.out)[:2]
    assert [m["model"] for m in by_judge["models"]] == ["openai:good", "openai:poor"]
    assert by_judge["models"][0]["wins"] == 4 and by_judge["votes"] == 4
    assert by_people["votes"] == 4 and by_people["models"][0]["wins"] == 3
    assert by_people["agreement"] == {"agreed": 3, "compared": 4}
    assert "judge and people agree on 3 of 4 pairs (75%)" in r.err
    # per tag
    r = run_cli([], stdin=":scores --tag code --json\n:scores --tag nope\n")
    doc = _documents(r.out)[0]
    assert doc["votes"] == 2 and doc["tag"] == "code"
    assert "no human votes tagged 'nope' yet" in r.out


def test_a_judge_that_favours_a_position_gives_ties(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    _replies(server)
    server.responders["biased"] = lambda body: Reply(text="A - the first one is always best")
    r = _compare(server, tmp_path, "biased", "j2")
    assert r.code == 0, r.err
    asked = _judge_requests(server, "biased")
    assert len(asked) == 8
    # the second pass shows the same two replies the other way round
    pairs = {}
    for text in asked:
        first, second = text.index("Reply A:"), text.index("Reply B:")
        a_good = first < text.index("GOOD") < second
        prompt = text.split("<<<\n")[1].split("\n>>>")[0]
        pairs.setdefault(prompt, []).append(a_good)
    assert all(sorted(v) == [False, True] for v in pairs.values()) and len(pairs) == 4
    judged = [v for v in VoteStore(home).load()[0] if v.by == "judge"]
    assert [v.verdict for v in judged] == ["tie"] * 4


def test_an_answer_without_a_verdict_is_no_vote(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    _replies(server)
    server.responders["vague"] = lambda body: Reply(text="Well, it depends.")
    r = _compare(server, tmp_path, "vague", "j3")
    assert r.code == 0, r.err
    assert "did not start with A, B, tie or bad" in r.err
    assert "judged 0 of 4 pairs" in r.err
    assert VoteStore(home).load()[0] == []


@pytest.mark.parametrize(
    ("first", "swapped", "vote"),
    [
        ("A", "B", "A"),  # x both times
        ("B", "A", "B"),  # y both times
        ("A", "A", "tie"),  # the first place both times: position, not quality
        ("B", "B", "tie"),
        ("tie", "tie", "tie"),
        ("bad", "bad", "bad"),
        ("bad", "tie", "tie"),
        ("A", "tie", "tie"),
    ],
)
def test_the_swap_rule(first: str, swapped: str, vote: str) -> None:
    assert combine(first, swapped) == vote


def test_parse_the_judges_answer() -> None:
    assert parse("A - clearer") == ("A", "clearer")
    assert parse("\n**B**: covers the edge case\nmore") == ("B", "covers the edge case")
    assert parse("Tie. Both fine") == ("tie", "Both fine")
    assert parse("both bad - wrong") == ("bad", "wrong")
    assert parse("Answer: A") is None
    assert parse("") is None


def test_tags_in_prompts_files() -> None:
    assert parse_tagged(PROMPTS) == [
        ("write a loop", "code"),
        ("fix this bug", "code"),
        ("a haiku", "prose"),
        ("untagged one", ""),
    ]
    blocks = '# tag: a\n"""\n# not a tag: inside\nline two\n"""\n"""\n\n"""\n# tag: b\nlast\n'
    assert parse_tagged(blocks) == [("# not a tag: inside\nline two", "a"), ("last", "b")]
    jsonl = '{"prompt": "p1", "tag": "math"}\n"p2"\n'
    assert parse_tagged(jsonl, jsonl=True) == [("p1", "math"), ("p2", "")]
