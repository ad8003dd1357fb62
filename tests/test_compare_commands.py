""":again, :diff, :scores and :compare in script mode, against the loopback server."""

from __future__ import annotations

import io
import json
from pathlib import Path

from conftest import run_cli
from fakeserver import FakeServer

from copilot_repl.api.client import CopilotClient
from copilot_repl.api.session import CopilotSession
from copilot_repl.api.turn import Turn
from copilot_repl.cli.script import ScriptOutput
from copilot_repl.history.messages import SessionData
from copilot_repl.history.store import Store
from copilot_repl.history.votes import Side, Vote, VoteStore
from copilot_repl.repl.controller import Repl


def test_again_forks_at_the_last_prompt_and_keeps_the_model(server: FakeServer, home: Path) -> None:
    script = ":new main2 --model gpt-4o-mini\nfirst question\nsecond question\n"
    script += ":again slow,echo\n:again --model slow\n"
    r = run_cli(["--base-url", server.url], stdin=script)
    assert r.code == 0, r.err
    store = Store(home)
    assert store.load("main2").data.model == "openai:gpt-4o-mini"  # unchanged
    assert len(store.load("main2").data.messages) == 4
    for name, model in [("main2-slow", "slow"), ("main2-echo", "echo"), ("main2-slow-2", "slow")]:
        data = store.load(name).data
        assert data.model == f"openai:{model}"
        assert [m.content for m in data.messages] == [
            "first question",
            "echo: first question",
            "second question",
            "echo: second question",
        ]
    # the same history went with it: the request held the first exchange
    sent = server.requests[-1]["body"]["messages"]
    assert [m["content"] for m in sent] == [
        "first question",
        "echo: first question",
        "second question",
    ]
    # shown with the original, side by side (script mode: one block each)
    assert "=== main2 (openai:gpt-4o-mini) ===" in r.out
    assert "=== main2-echo (openai:echo) ===" in r.out
    r = run_cli(["--base-url", server.url, "--session", "fresh"], stdin=":again slow\n")
    assert r.code == 1 and "has no prompt to send again" in r.err


def test_diff_last_replies_and_given_messages(server: FakeServer) -> None:
    script = ":new x --model echo\nThe GIL is a lock\n:new y --model echo\nThe GIL is a mutex\n"
    script += ":diff x y\n:diff x@1 y@2\n:diff x@9 y\n"
    r = run_cli(["--base-url", server.url], stdin=script)
    assert r.code == 1
    assert "--- x@2 (openai:echo)\n+++ y@2 (openai:echo)\n" in r.out
    assert "echo: The GIL is a [-lock-]{+mutex+}" in r.out
    assert "--- x@1 (openai:echo)" in r.out
    assert "{+echo: +}The GIL is a [-lock-]{+mutex+}" in r.out
    assert "x has 2 messages; no message 9" in r.err
    assert "alike · 1 word removed, 1 added" in r.err


def test_scores_from_the_votes_on_disk(server: FakeServer, home: Path) -> None:
    store = VoteStore(home)
    sides = {"A": Side("s-A", "p:strong", "p:strong"), "B": Side("s-B", "p:weak", "p:weak")}
    for verdict in ["A", "A", "A", "B", "tie", "bad"]:
        store.append(Vote("q", sides, verdict))
    r = run_cli(["--base-url", server.url], stdin=":scores --json\n:scores\n")
    assert r.code == 0, r.err
    doc = json.loads(r.out[: r.out.rindex("}") + 1])
    assert doc["votes"] == 6
    strong, weak = doc["models"]
    assert strong["model"] == "p:strong" and strong["rating"] > 1000 > weak["rating"]
    assert (strong["wins"], strong["losses"], strong["ties"], strong["bad"]) == (3, 1, 1, 1)
    assert strong["ci95"][0] < strong["rating"] < strong["ci95"][1]
    table = r.out[r.out.rindex("}") + 1 :].strip().splitlines()
    assert table[0].split()[0] == "p:strong" and "●" in table[0]
    assert table[0].split()[-4:] == ["6", "3", "1", "2"]
    r = run_cli(["--base-url", server.url], stdin=":scores\n")
    assert "from 6 people's votes" in r.err  # --by human is the default


def test_compare_command_runs_and_reports(server: FakeServer, tmp_path: Path, home: Path) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("one\ntwo\n")
    report = tmp_path / "r.md"
    line = f":compare --models echo,slow --prompts {prompts} --name c1 --report {report}\n"
    r = run_cli(["--base-url", server.url], stdin=line + ":ls --all\n")
    assert r.code == 0, r.err
    assert "c1: 4 replies to get" in r.err and r.err.count("[c1] openai:") == 4
    assert r.out.splitlines()[0].split()[:3] == ["openai:echo", "2", "0"]
    assert "===" not in r.out  # the replies were shown as progress, not again at the end
    assert "c1-2-slow" in r.out  # an ordinary session (:ls lists it with --all)
    assert "## Prompt 2" in report.read_text()
    again = f":compare --name c1 --report {report}\n"
    r = run_cli(["--base-url", server.url], stdin=again)
    assert r.code == 0 and "report written" in r.err
    r = run_cli(["--base-url", server.url], stdin=":compare --name none --report x.md\n")
    assert r.code == 1 and "no comparison named 'none'" in r.err


class Recorded(ScriptOutput):
    """Script mode's front end, keeping the replies it showed side by side."""

    def __init__(self) -> None:
        super().__init__(io.StringIO(), io.StringIO())
        self.fanned: list[list[tuple[CopilotSession, Turn]]] = []

    async def fanout(self, items: list[tuple[CopilotSession, Turn]]) -> str:
        self.fanned.append(items)
        return await super().fanout(items)


async def test_again_shows_the_original_reply_with_the_time_it_took(
    server: FakeServer, home: Path
) -> None:
    store = Store(home)
    store.create(SessionData(name="main", model="openai:echo", created=1000.0))
    store.append(
        "main",
        {"t": "msg", "role": "user", "content": "question", "id": "u1"},
        {
            "t": "msg",
            "role": "assistant",
            "content": "old answer",
            "id": "r1",
            "tokens": 3,
            "figures": {"total_s": 2.5, "tokens_out": 3},
        },
    )
    client = CopilotClient(data_dir=str(home), base_url=server.url)
    out = Recorded()
    repl = Repl(client, out)
    try:
        await client.start()
        await repl.open_initial("main")
        await repl.handle(":again slow")
    finally:
        await repl.close()
    assert not repl.failed, out.stderr.getvalue()
    ((original, turn), (fork, _)) = out.fanned[0]
    assert (original.session_id, fork.session_id) == ("main", "main-slow")
    assert turn.text == "old answer"
    assert turn.elapsed == 2.5
