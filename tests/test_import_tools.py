"""Import from the GitHub Copilot CLI (events.jsonl) and simonw/llm (logs.db),
read from fixtures the real tools wrote (tests/fixtures/README.md)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

from conftest import Result, run_cli

from copilot_repl.history.store import Store

FIXTURES = Path(__file__).resolve().parent / "fixtures"
COPILOT = FIXTURES / "copilot-session-state"
LLM = FIXTURES / "llm-logs.db"
ERR = "copilot-repl: error: "
FIRST = "11111111-1111-4111-8111-111111111111"
SECOND = "22222222-2222-4222-8222-222222222222"


def sessions(*args: str, env: dict[str, str] | None = None) -> Result:
    return run_cli(["sessions", *args], env=env)


def contents(home: Path, name: str) -> list[tuple[str, str]]:
    return [(m.role, m.content) for m in Store(home).load(name).data.messages]


def test_copilot_all(home: Path) -> None:
    r = sessions("import", str(COPILOT), "--all", "--json")
    assert r.code == 0, r.err
    done = json.loads(r.out)["imported"]
    assert [(d["name"], d["model"], d["messages"]) for d in done] == [
        ("copilot-11111111", "copilot:gpt-4o-mini", 4),
        ("copilot-22222222", "copilot:gpt-4o-mini", 2),
    ]
    assert contents(home, "copilot-11111111") == [
        ("user", "What is 2+2?"),  # the prompt as typed, not the CLI's datetime-tagged copy
        ("assistant", "echo: What is 2+2?"),
        ("user", "And 3+3?"),  # from the resumed run, same events.jsonl
        ("assistant", "echo: And 3+3?"),
    ]
    data = Store(home).load("copilot-22222222").data
    reply = data.messages[1].content
    assert reply.startswith(
        '[tool call: bash {"command": "echo hello from a tool", "description": "say hello"}]'
    )
    assert "[tool result: hello from a tool" in reply
    assert reply.endswith("tool said: hello from a tool\n<shellId: 0 completed with exit code 0>")
    assert data.messages[1].tokens == 6  # two model calls of 3 tokens
    assert data.created < data.messages[0].ts <= data.messages[1].ts <= data.modified


def test_copilot_by_id_prefix_and_default_folder(home: Path, tmp_path: Path) -> None:
    state = tmp_path / "copilot-home" / "session-state"
    shutil.copytree(COPILOT, state)
    env = {"COPILOT_HOME": str(tmp_path / "copilot-home")}
    r = sessions("import", "--from", "copilot", "2222", "--as", "tools", env=env)
    assert r.code == 0, r.err
    assert Store(home).names() == ["tools"]
    r = sessions("import", str(COPILOT))
    assert r.code == 2 and "holds 2 sessions" in r.err and "give IDs or --all" in r.err


def test_copilot_one_bad_session_is_one_line_and_the_others_come(
    home: Path, tmp_path: Path
) -> None:
    state = tmp_path / "state"
    shutil.copytree(COPILOT, state)
    events = state / SECOND / "events.jsonl"
    with open(events, "a") as f:
        f.write("{not json\n")
    lineno = len(events.read_bytes().splitlines())
    r = sessions("import", str(state), "--all")
    assert r.code == 1
    assert r.err == f"{ERR}{events}, line {lineno}: not a JSON event\n"
    assert r.out.startswith("imported copilot-11111111 ") and r.out.count("\n") == 1
    assert Store(home).names() == ["copilot-11111111"]


def test_copilot_newer_format_is_named(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "s" / FIRST
    folder.mkdir(parents=True)
    lines = (COPILOT / FIRST / "events.jsonl").read_text().splitlines()
    start = json.loads(lines[0])
    start["data"]["version"] = 2
    (folder / "events.jsonl").write_text("\n".join([json.dumps(start), *lines[1:]]) + "\n")
    r = sessions("import", str(folder))
    assert r.code == 1
    assert "session format version 2 (from 1.0.102) is newer than copilot-repl reads (1)" in r.err
    assert str(folder / "events.jsonl") in r.err
    assert Store(home).names() == []


def test_llm_both_layouts(home: Path) -> None:
    r = run_cli(
        ["--model", "openai:gpt-4o-mini", "sessions", "import", str(LLM), "--all", "--json"]
    )
    assert r.code == 0, r.err
    done = json.loads(r.out)["imported"]
    assert len(done) == 4
    got = {tuple(c for _, c in contents(home, d["name"])): d["name"] for d in done}
    assert set(got) == {
        # llm 0.27.1 conversations (the legacy tables)
        ("What is 2+2?", "echo: What is 2+2?", "And 3+3?", "echo: And 3+3?"),
        ("Name a colour", "echo: Name a colour"),
        # llm 0.36 threads
        ("Bonjour", "echo: Bonjour", "Encore", "echo: Encore"),
        (
            "Which llm? #tool=llm_version {}",
            "[tool call: llm_version {}]\n\n[tool result: llm_version: 0.36]\n\ntool said: 0.36",
        ),
    }
    store = Store(home)
    terse = store.load(got[("Name a colour", "echo: Name a colour")]).data
    assert terse.system == "You are terse."
    french = store.load(got[("Bonjour", "echo: Bonjour", "Encore", "echo: Encore")]).data
    assert french.system == "Answer in French."
    assert french.model == "openai:fake-echo"  # a bare llm model id goes to the default provider
    assert all(m.model == "openai:fake-echo" and m.tokens == 3 for m in french.messages[1::2])


def test_llm_not_a_logs_db(home: Path, tmp_path: Path) -> None:
    db = tmp_path / "other.db"
    sqlite3.connect(db).execute("create table t (x)").connection.commit()
    r = sessions("import", str(db))
    assert r == Result(1, "", f"{ERR}{db}: not an llm logs.db (no _llm_migrations table)\n")
    broken = tmp_path / "logs.db"
    shutil.copy(LLM, broken)
    con = sqlite3.connect(broken)
    con.execute("alter table threads rename column tip_message_hash to tip")
    con.commit()
    con.close()
    r = sessions("import", str(broken), "--all")
    assert r.code == 1 and "table threads has no column tip_message_hash" in r.err
    assert Store(home).names() == []
