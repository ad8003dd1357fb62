"""``copilot-repl sessions ...``: each subcommand in both output forms, the
state column read from another live (then killed) process, and JSON export
-> import round trips."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

from conftest import Result, run_cli, spawn
from fakeserver import FakeServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from copilot_repl.history.exchange import (
    Imported,
    export_session,
    parse_document,
    record_extras,
    write_sessions,
)
from copilot_repl.history.messages import Message, SessionData
from copilot_repl.history.store import Store

ERR = "copilot-repl: error: "


def cli(server: FakeServer, script: str, *args: str) -> Result:
    return run_cli(["--base-url", server.url, *args], script)


def sessions(*args: str) -> Result:
    return run_cli(["sessions", *args])


def two_sessions(server: FakeServer) -> None:
    r = cli(server, ":system be brief\nhello\n:new other --model openai:echo\nhi\n")
    assert r.code == 0, r.err


def test_list_table_and_json(server: FakeServer, home: Path) -> None:
    two_sessions(server)
    r = sessions("list")
    assert r.code == 0, r.err
    lines = r.out.splitlines()
    assert lines[0].split() == ["name", "model", "msgs", "created", "modified", "state"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows["main"][1:3] == ["openai:gpt-4o-mini", "2"] and rows["main"][-1] == "idle"
    r = sessions("list", "--json")
    doc = json.loads(r.out)
    assert {d["name"]: (d["model"], d["messages"], d["state"]) for d in doc} == {
        "main": ("openai:gpt-4o-mini", 2, "idle"),
        "other": ("openai:echo", 2, "idle"),
    }
    assert set(doc[0]) == {"name", "model", "messages", "created", "modified", "state"}
    # options before the subcommand count too
    r = run_cli(["--json", "--data-dir", str(home), "sessions", "list"])
    assert json.loads(r.out) == doc


def test_list_state_streaming_in_another_process_then_interrupted(
    server: FakeServer, home: Path
) -> None:
    proc = spawn(["--base-url", server.url, "--session", "long"], b"go #delay=0.2 #deltas=200\n")
    try:
        state = ""
        for _ in range(600):  # a guard, not a timing assertion
            found = [d for d in json.loads(sessions("list", "--json").out) if d["name"] == "long"]
            state = found[0]["state"] if found else ""
            if state == "streaming":
                break
            time.sleep(0.05)
        assert state == "streaming"
        r = sessions("rm", "long")
        assert r.code == 1 and "streaming a reply in another process" in r.err
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    (info,) = [d for d in json.loads(sessions("list", "--json").out) if d["name"] == "long"]
    assert info["state"] == "interrupted"


def test_show(server: FakeServer, home: Path) -> None:
    two_sessions(server)
    r = sessions("show", "main")
    assert r.out == "=== user ===\nhello\n=== assistant ===\necho: hello\n"
    r = sessions("show", "main", "--last", "1", "--json")
    doc = json.loads(r.out)
    assert doc["session"]["system"] == "be brief"
    assert [m["content"] for m in doc["messages"]] == ["echo: hello"]
    r = sessions("show", "nope")
    assert r == Result(1, "", f"{ERR}no session named 'nope'\n")
    r = sessions("show", "main", "--last", "0")
    assert r.code == 2 and r.err.startswith(ERR + "sessions show: argument --last")


def test_rm_and_rename(server: FakeServer, home: Path) -> None:
    two_sessions(server)
    r = sessions("rm", "other", "nope")
    assert r.code == 1 and "nothing was deleted" in r.err
    assert Store(home).names() == ["main", "other"]
    r = sessions("rename", "other", "renamed", "--json")
    assert json.loads(r.out) == {"renamed": {"from": "other", "to": "renamed"}}
    r = sessions("rename", "main", "renamed")
    assert r.code == 1 and "already exists" in r.err
    r = sessions("rm", "renamed", "main", "--json", "--purge")
    assert json.loads(r.out) == {"deleted": ["renamed", "main"]}
    assert Store(home).names() == []
    r = sessions("rm")
    assert r.code == 2


def test_export_formats_and_no_overwrite(server: FakeServer, home: Path, tmp_path: Path) -> None:
    two_sessions(server)
    r = sessions("export", "main")
    assert r.code == 0 and r.out.startswith("# main\n") and "echo: hello" in r.out
    r = sessions("export", "main", "--format", "html")
    assert "<h1>main</h1>" in r.out and "<pre>echo: hello</pre>" in r.out
    out = tmp_path / "main.json"
    r = sessions("export", "main", "--format", "json", "-o", str(out), "--json")
    assert json.loads(r.out) == {"exported": "main", "format": "json", "path": str(out)}
    assert json.loads(out.read_text())["format"] == "copilot-repl.session"
    r = sessions("export", "main", "-o", str(out))
    assert r.code == 1 and "exists; choose another name or pass --force" in r.err
    r = sessions("export", "main", "-o", str(out), "--force")
    assert r.code == 0 and out.read_text().startswith("# main")


def test_html_escapes_everything(server: FakeServer, home: Path) -> None:
    cli(server, "<script>alert(1)</script>\n")
    r = sessions("export", "main", "--format", "html")
    assert "<script>alert" not in r.out and "&lt;script&gt;" in r.out


def raw_messages(path: Path) -> list[dict[str, Any]]:
    out = []
    for line in path.read_bytes().splitlines()[1:]:
        rec = json.loads(line)
        if rec["t"] == "msg":
            out.append(rec)
    return out


def test_export_import_round_trip(server: FakeServer, home: Path, tmp_path: Path) -> None:
    r = cli(server, ":system be brief\nhello\n:model openai:echo\nsecond\nfails #status=401\n")
    store = Store(home)
    before = store.load("main").data
    figures = record_extras(store.path("main"))
    assert figures and all("figures" in v for v in figures.values())
    file = tmp_path / "main.json"
    assert sessions("export", "main", "--format", "json", "-o", str(file)).code == 0
    r = sessions("import", str(file))
    assert r.code == 1 and "already exists; import under another name with --as NAME" in r.err
    r = sessions("import", str(file), "--as", "copy")
    assert r.code == 0, r.err
    assert r.out.startswith("imported copy (openai:echo, 5 messages) from ")
    after = store.load("copy").data
    assert after.messages == before.messages
    assert (after.model, after.system, after.created) == (
        before.model,
        before.system,
        before.created,
    )
    assert after.modified == before.modified
    assert record_extras(store.path("copy")) == figures
    assert raw_messages(store.path("copy"))[-1]["content"] == "fails #status=401"
    assert sessions("rm", "main").code == 0
    assert sessions("import", str(file), "--json").code == 0
    assert store.load("main").data.messages == before.messages


def test_import_refuses_what_it_does_not_understand(home: Path, tmp_path: Path) -> None:
    cases = {
        "other.json": ('{"format": "something-else"}', "not a copilot-repl session export"),
        "newer.json": (
            '{"format": "copilot-repl.session", "version": 9, "session": {}, "messages": []}',
            "export version 9 is newer than this copilot-repl reads (1)",
        ),
        "badmsg.json": (
            '{"format": "copilot-repl.session", "version": 1, "session": {"model": "a:b"},'
            ' "messages": [{"role": "robot", "content": "x"}]}',
            "message 1: msg: role is not user or assistant",
        ),
        "text.json": ("not json at all", "not JSON"),
    }
    for name, (text, why) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        r = sessions("import", str(path))
        assert r.code == 1, name
        assert r.err.startswith(f"{ERR}{path}") and why in r.err, r.err
        assert len(r.err.splitlines()) == 1
    assert Store(home).names() == []


# -- property: any session survives export -> import ---------------------------
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
messages = st.builds(
    Message,
    role=st.sampled_from(["user", "assistant"]),
    content=texts,
    ts=st.floats(min_value=0, max_value=4e9, allow_nan=False),
    status=st.sampled_from(["done", "interrupted", "error", "truncated", "filtered"]),
    model=st.sampled_from(["", "openai:x", "copilot:gpt-4.1"]),
    tokens=st.integers(min_value=0, max_value=10**6),
    id=st.sampled_from(["", "r-1", "r-2"]),
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(msgs=st.lists(messages, max_size=6), system=texts, created=st.floats(0, 4e9))
def test_round_trip_property(
    tmp_path: Path, msgs: list[Message], system: str, created: float
) -> None:
    store = Store(tmp_path / f"h{time.monotonic_ns()}")
    data = SessionData(name="src", model="openai:m", system=system, created=created)
    imported = Imported(data, "test")
    imported.data.messages = list(msgs)
    imported.extras = [{} for _ in msgs]
    write_sessions(store, [("src", imported)])
    doc = json.loads(json.dumps(export_session(store, "src")))
    again = parse_document(doc, "doc")
    write_sessions(store, [("dst", again)])
    a, b = store.load("src").data, store.load("dst").data
    assert a.messages == b.messages == msgs
    assert (a.system, a.created, a.model) == (b.system, b.created, b.model)
