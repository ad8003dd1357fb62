"""``copilot-repl compare``: JSONL content, figures of models of known speed,
the report, and resuming after kill -9 (real processes, the loopback server)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli, run_proc
from fakeserver import FakeServer
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot_repl.errors import UsageError
from copilot_repl.history.comparisons import Journal, Plan, Result
from copilot_repl.history.store import Store
from copilot_repl.history.votes import Side, Vote, VoteStore
from copilot_repl.repl.batch import parse_prompts, report_markdown


def chats(server: FakeServer) -> list[str]:
    """The last message of each chat request the server has seen."""
    out = []
    for req in list(server.requests):
        body = req.get("body")
        if isinstance(body, dict) and body.get("messages"):
            out.append(str(body["messages"][-1]["content"]))
    return out


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_each_prompt_to_each_model_jsonl_and_figures(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    prompts = tmp_path / "p.txt"
    # slow: 0.05 s between deltas, 20 deltas (= 20 tokens) after a 0.3 s wait
    prompts.write_text('first #deltas=20 #first_delay=0.3\n"""\nsecond\nline\n"""\n')
    out, report = tmp_path / "r.jsonl", tmp_path / "r.md"
    args = ["--base-url", server.url, "compare", "--models", "gpt-4o-mini,slow"]
    args += ["--prompts", str(prompts), "--out", str(out), "--report", str(report)]
    r = run_proc([*args, "--name", "run1", "--system", "be brief"])
    assert r.code == 0, r.err
    got = lines(out)
    assert [(x["prompt_index"], x["model"]) for x in got] == [
        (0, "openai:gpt-4o-mini"),
        (0, "openai:slow"),
        (1, "openai:gpt-4o-mini"),
        (1, "openai:slow"),
    ]
    assert all(x["status"] == "done" and x["run"] == "run1" for x in got)
    assert got[2]["reply"] == "echo: second\nline" and got[2]["prompt"] == "second\nline"
    slow = got[1]["figures"]
    assert isinstance(slow, dict)
    assert slow["tokens_out"] == 20 and "counted" not in slow
    assert 0.3 <= slow["ttft_s"] < 10  # the wait is not in the rate:
    assert 5 < slow["tok_s"] <= 21  # 19 gaps of 0.05 s: 20 tok/s at most
    assert slow["total_s"] >= slow["ttft_s"] + 19 * 0.05 * 0.9
    # every reply is an ordinary session, with the system prompt
    store = Store(home)
    assert sorted(n for n in store.names() if n.startswith("run1-")) == [
        "run1-1-gpt-4o-mini",
        "run1-1-slow",
        "run1-2-gpt-4o-mini",
        "run1-2-slow",
    ]
    loaded = store.load("run1-1-slow").data
    assert loaded.system == "be brief" and loaded.messages[-1].content == got[1]["reply"]
    # the summary: one row per model
    table = r.out.splitlines()
    assert table[0].split()[:3] == ["model", "replies", "failed"]
    assert table[2].split()[:3] == ["openai:slow", "2", "0"]
    md = report.read_text()
    assert "| `openai:gpt-4o-mini` | `openai:slow` |" in md
    assert "echo: second<br>line" in md and "tok/s" in md
    # run again: everything is in already, nothing is asked
    asked = len(server.requests)
    again = run_proc([*args, "--name", "run1", "--system", "be brief", "--json"])
    assert again.code == 0 and len(server.requests) == asked
    summary = json.loads(again.out)["summary"]
    assert [s["replies"] for s in summary] == [2, 2] and summary[1]["tokens_out"] > 20


def test_failures_counted_and_retried_on_request(server: FakeServer, tmp_path: Path) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("fine\nbroken #status=400\n")
    args = ["--base-url", server.url, "compare", "--models", "echo", "--prompts", str(prompts)]
    r = run_cli(args)
    assert r.code == 1
    row = r.out.splitlines()[1].split()
    assert row[:3] == ["openai:echo", "1", "1"]
    assert "prompt 2 · failed" in r.err and "scripted failure 400" in r.err
    asked = len(server.requests)
    assert run_cli(args).code == 1 and len(server.requests) == asked  # failures are kept
    assert run_cli([*args, "--retry-failed"]).code == 1
    assert len(server.requests) == asked + 1  # only the failed pair asked again


def test_bad_usage_is_one_line(server: FakeServer, tmp_path: Path) -> None:
    r = run_cli(["--base-url", server.url, "compare", "--models", "echo", "--prompts", "nope"])
    assert r.code == 2 and r.err.count("\n") == 1 and "cannot read the prompts file" in r.err
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n\n")
    r = run_cli(["--base-url", server.url, "compare", "--models", "echo", "--prompts", str(empty)])
    assert r.code == 2 and "holds no prompt" in r.err
    r = run_cli(["compare", "--models", "nosuch:m", "--prompts", str(empty)])
    assert r.code == 2 and r.err.startswith("copilot-repl: error:")


def test_another_plan_under_the_same_name_is_refused(server: FakeServer, tmp_path: Path) -> None:
    p = tmp_path / "p.txt"
    p.write_text("one\n")
    base = ["--base-url", server.url, "compare", "--name", "same", "--prompts", str(p)]
    assert run_cli([*base, "--models", "echo"]).code == 0
    r = run_cli([*base, "--models", "gpt-4o-mini"])
    assert r.code == 1 and "pick another --name" in r.err


def test_a_foreign_session_of_that_name_is_never_replaced(
    server: FakeServer, tmp_path: Path
) -> None:
    p = tmp_path / "p.txt"
    p.write_text("one\n")
    r = run_cli(["--base-url", server.url, "--session", "x-1-echo"], stdin="something else\n")
    assert r.code == 0
    args = ["--base-url", server.url, "compare", "--name", "x", "--models", "echo"]
    r = run_cli([*args, "--prompts", str(p)])
    assert r.code == 1 and "is not this comparison's" in r.err


def test_resume_after_kill_9(server: FakeServer, tmp_path: Path, home: Path) -> None:
    prompts = tmp_path / "p.txt"
    # 8 replies ending 0.5 s apart: killed when some are in and others still stream
    prompts.write_text("".join(f"prompt {k} #deltas={2 + 5 * k} #delay=0.1\n" for k in range(8)))
    out = tmp_path / "r.jsonl"
    args = ["--base-url", server.url, "compare", "--models", "slow", "--name", "k9"]
    args += ["--prompts", str(prompts), "--out", str(out)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "copilot_repl", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    journal = Journal(home, "k9")
    try:
        deadline = time.monotonic() + 60  # a guard against a hang, not a timing test
        # kill when some replies are in and others are streaming
        while time.monotonic() < deadline:
            done = len(journal.read()[1])
            if 0 < done < len(chats(server)):
                break
            time.sleep(0.02)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    before = journal.read()[1]
    assert 0 < len(before) < 8
    assert len(set(chats(server))) > len(before)  # some replies were cut by the kill
    server.requests.clear()
    r = run_proc(args)
    assert r.code == 0, r.err
    assert f"resuming k9: {len(before)} of 8 already in" in r.err
    # the replies already in were not asked again; the others were, once
    asked = chats(server)
    done_prompts = {res.prompt for res in before.values()}
    assert len(asked) == 8 - len(before) and not done_prompts & set(asked)
    got = lines(out)
    assert sorted(x["prompt_index"] for x in got) == list(range(8))
    assert all(x["status"] == "done" for x in got)
    assert [x["figures"]["tokens_out"] for x in got] == [2 + 5 * k for k in range(8)]
    # one session per pair, each holding one prompt and its whole reply
    names = sorted(n for n in Store(home).names() if n.startswith("k9-"))
    assert len(names) == 8
    for name in names:
        msgs = Store(home).load(name).data.messages
        assert [m.role for m in msgs] == ["user", "assistant"]
        assert msgs[1].status == "done"


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.text(alphabet=st.sampled_from(list('ab #"\n\t{}é')), min_size=1, max_size=20),
        min_size=1,
        max_size=6,
    )
)
def test_prompts_files_round_trip(prompts: list[str]) -> None:
    wanted = [p for p in prompts if p.strip() and '"""' not in p]
    text = ""
    for p in wanted:
        if "\n" in p or p != p.strip() or p.lstrip().startswith("#"):
            text += f'"""\n{p}\n"""\n'
        else:
            text += p + "\n"
    got = parse_prompts(text)
    # a block keeps its lines; lines that are only quotes were left out above
    assert [g.strip() for g in got] == [w.strip() for w in wanted if w.strip() != '"""']
    as_jsonl = "".join(json.dumps({"prompt": w}) + "\n" for w in wanted)
    assert parse_prompts(as_jsonl, jsonl=True) == wanted


def test_prompts_file_errors() -> None:
    with pytest.raises(UsageError, match="ends inside"):
        parse_prompts('"""\nopen')
    with pytest.raises(UsageError, match="line 2: not JSON"):
        parse_prompts('"a"\n{x\n', jsonl=True)


def test_report_shows_votes_on_the_same_prompt() -> None:
    plan = Plan(("p:a", "p:b"), ("hi",), name="rep")
    results = [
        Result(0, "hi", "p:a", "rep-1-a", "done", "hello | there", figures={"tokens_out": 3}),
        Result(0, "hi", "p:b", "rep-1-b", "failed", error="boom"),
    ]
    sides = {"A": Side("s-A", "p:b", "p:b"), "B": Side("s-B", "p:a", "p:a")}
    votes = [Vote("hi", sides, "B"), Vote("other prompt", sides, "A")]
    md = report_markdown(plan, results, votes)
    assert "hello \\| there" in md and "*(failed: boom)*" in md
    assert md.count("→ **") == 1 and "→ **p:a**" in md
    assert "| p:b | 0 | 1 |" in md


def test_votes_store_is_what_the_report_reads(home: Path) -> None:
    VoteStore(home).append(
        Vote("hi", {"A": Side("s", "m:1", "m:1"), "B": Side("t", "m:2", "m:2")}, "tie")
    )
    assert VoteStore(home).load()[0][0].verdict == "tie"
