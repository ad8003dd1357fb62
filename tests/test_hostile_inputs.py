"""Files the user names, when they are hostile: a FIFO, /dev/zero, a 5 GB
file, deep nesting, lone surrogates, bad timestamps, odd column types; and
output files that cannot be written. One reader owns the rule
(``history/inputs.py``); every front end reaches it. Each case ends in one
``copilot-repl: error:`` line, never a traceback, a hang or all memory."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, Result, run_cli
from fakeserver import FakeServer

from copilot_repl.errors import ImportFailed, UsageError
from copilot_repl.history import inputs
from copilot_repl.history.store import Store

ERR = "copilot-repl: error: "
FIXTURES = Path(__file__).resolve().parent / "fixtures"
COPILOT = FIXTURES / "copilot-session-state"
LLM = FIXTURES / "llm-logs.db"
FIRST = "11111111-1111-4111-8111-111111111111"
SECOND = "22222222-2222-4222-8222-222222222222"
ADDRESS_SPACE = 3 << 30  # what a child may map: reading 5 GB, or /dev/zero, would fail
GUARD = 120  # seconds: a guard against a hang (a FIFO read), not a timing test


def run_limited(args: list[str], home: Path) -> Result:
    """copilot-repl in a child whose address space is limited (so a reader
    that reads without a cap fails with MemoryError, not the machine's OOM)."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))

    proc = subprocess.run(
        [sys.executable, "-m", "copilot_repl", *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env={**os.environ, "COPILOT_REPL_HOME": str(home)},
        timeout=GUARD,
        cwd=ROOT,
        preexec_fn=limit,
    )
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def one_line(r: Result, *, code: int, says: str) -> None:
    assert r.code == code, r
    assert r.err.startswith(ERR) and r.err.count("\n") == 1, r.err
    assert says in r.err, r.err
    assert "Traceback" not in r.err


@pytest.fixture
def fifo(tmp_path: Path) -> Path:
    path = tmp_path / "fifo"
    os.mkfifo(path)
    return path


@pytest.fixture
def five_gb(tmp_path: Path) -> Path:
    path = tmp_path / "big.txt"
    with open(path, "wb") as f:
        f.truncate(5 << 30)  # sparse: no disk used
    return path


# -- the reader ------------------------------------------------------------------
def test_the_reader_refuses_what_is_not_a_regular_file(tmp_path: Path, fifo: Path) -> None:
    cases = {fifo: "it is a FIFO", Path("/dev/zero"): "it is a device", tmp_path: "a directory"}
    for path, why in cases.items():
        with pytest.raises(UsageError, match=why):
            inputs.read_bytes(path, limit=100, doing="attach")
    link = tmp_path / "link"
    link.symlink_to(fifo)
    with pytest.raises(ImportFailed, match="it is a FIFO"):
        inputs.read_text(link, limit=100, error=ImportFailed)


def test_the_reader_caps_while_reading_whatever_size_a_file_claims() -> None:
    maps = Path("/proc/self/maps")  # a regular file whose size says 0
    assert os.stat(maps).st_size == 0
    with pytest.raises(UsageError, match="larger than 0 KB"):
        inputs.read_bytes(maps, limit=64)
    assert inputs.read_bytes(maps, limit=1 << 20)  # within the cap: read whole


def test_the_reader_decodes_and_bounds_nesting(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\nalso fine\nnot \xff fine\n")
    with pytest.raises(UsageError, match=r"bad.txt: not UTF-8 text \(line 3\)"):
        inputs.read_text(bad, limit=100, doing="read")
    for text in ("[" * 100_000, "[" * 65 + "]" * 65, '{"a":' * 70 + "1" + "}" * 70):
        with pytest.raises(UsageError, match="nested too deeply"):
            inputs.loads(text, where="x")
    assert inputs.loads("[" * 64 + "]" * 64, where="x") is not None


# -- -f, compare --prompts, sessions import: FIFO, /dev/zero, 5 GB ------------------
def test_a_fifo_is_refused_at_once_by_every_reader(
    server: FakeServer, home: Path, fifo: Path
) -> None:
    url = ["--base-url", server.url]
    r = run_limited([*url, "-f", str(fifo), "x"], home)
    one_line(r, code=2, says=f"cannot attach {fifo}: it is a FIFO")
    r = run_limited([*url, "compare", "--models", "echo", "--prompts", str(fifo)], home)
    one_line(r, code=2, says=f"cannot read the prompts file {fifo}: it is a FIFO")
    r = run_limited(["sessions", "import", str(fifo)], home)
    one_line(r, code=1, says=f"cannot read {fifo}: it is a FIFO")
    r = run_limited(["sessions", "import", "--from", "llm", str(fifo), "--all"], home)
    one_line(r, code=1, says=f"cannot read {fifo}: it is a FIFO")
    assert server.requests == []


def test_dev_zero_and_a_5_gb_file_are_refused_without_reading_them(
    server: FakeServer, home: Path, five_gb: Path
) -> None:
    url = ["--base-url", server.url]
    zero = "/dev/zero"
    one_line(run_limited([*url, "-f", zero, "x"], home), code=2, says="it is a device")
    r = run_limited([*url, "compare", "--models", "echo", "--prompts", zero], home)
    one_line(r, code=2, says="it is a device")
    one_line(run_limited(["sessions", "import", zero], home), code=1, says="it is a device")
    r = run_limited([*url, "-f", str(five_gb), "x"], home)
    one_line(r, code=2, says=f"cannot attach {five_gb}: larger than 256 KB")
    r = run_limited([*url, "compare", "--models", "echo", "--prompts", str(five_gb)], home)
    one_line(r, code=2, says="larger than 16 MB")
    r = run_limited(["sessions", "import", str(five_gb)], home)
    one_line(r, code=1, says="larger than 256 MB")
    assert server.requests == []


def test_a_deeply_nested_line_is_one_line(server: FakeServer, home: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('"fine"\n' + "[" * 100_000 + "\n")
    r = run_cli(
        ["--base-url", server.url, "compare", "--models", "echo", "--prompts", str(prompts)]
    )
    one_line(r, code=2, says="prompts line 2: nested too deeply")
    events = tmp_path / "s" / FIRST / "events.jsonl"
    events.parent.mkdir(parents=True)
    shutil.copy(COPILOT / FIRST / "events.jsonl", events)
    with open(events, "a") as f:
        f.write('{"type": "x", "data": ' + "[" * 100_000 + "\n")
    one_line(run_cli(["sessions", "import", str(events)]), code=1, says="nested too deeply")
    assert server.requests == [] and Store(home).names() == []


# -- compare: outputs checked before any request is spent --------------------------
def test_compare_hostile_inputs_and_outputs_cost_nothing(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("hello\n")
    base = ["--base-url", server.url, "compare", "--models", "echo", "--prompts", str(prompts)]
    missing = tmp_path / "no" / "such" / "out.jsonl"
    one_line(run_cli([*base, "--out", str(missing)]), code=2, says="there is no directory")
    one_line(run_cli([*base, "--report", str(tmp_path)]), code=2, says="is a directory")
    surrogate = tmp_path / "s.jsonl"
    surrogate.write_text('"\\ud800 hello"\n')
    r = run_cli(
        ["--base-url", server.url, "compare", "--models", "echo", "--prompts", str(surrogate)]
    )
    one_line(r, code=2, says="prompts line 1 holds a lone surrogate (U+D800)")
    latin1 = tmp_path / "l.txt"
    latin1.write_bytes(b"caf\xe9\n")
    r = run_cli(["--base-url", server.url, "compare", "--models", "echo", "--prompts", str(latin1)])
    one_line(r, code=2, says="not UTF-8 text (line 1)")
    assert server.requests == []
    assert not (home / "compare").exists() or not any((home / "compare").iterdir())


def test_compare_in_the_repl_checks_its_outputs_first(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("hello\n")
    missing = tmp_path / "no" / "out.jsonl"
    script = f":compare --models echo --prompts {prompts} --out {missing}\n"
    r = run_cli(["--base-url", server.url], script)
    assert r.code == 1 and "there is no directory" in r.err and "Traceback" not in r.err
    assert server.requests == []


# -- imports -------------------------------------------------------------------------
def export_doc(**session: object) -> dict[str, object]:
    return {
        "format": "copilot-repl.session",
        "version": 1,
        "session": {"name": "imp", "model": "openai:m", "created": 1.0e9, **session},
        "messages": [{"role": "user", "content": "hi", "ts": 1.0e9}],
    }


def test_import_refuses_a_lone_surrogate(home: Path, tmp_path: Path) -> None:
    doc = export_doc()
    doc["messages"] = [{"role": "user", "content": "a \ud800 b", "ts": 1.0e9}]
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))  # ensure_ascii: the surrogate as \ud800
    r = run_cli(["sessions", "import", str(path)])
    one_line(r, code=1, says="message 1: content holds a lone surrogate (U+D800)")
    events = tmp_path / "c" / FIRST / "events.jsonl"
    events.parent.mkdir(parents=True)
    text = (COPILOT / FIRST / "events.jsonl").read_text()
    events.write_text(text.replace("What is 2+2?", "What is \\ud800?", 1))
    r = run_cli(["sessions", "import", str(events)])
    one_line(r, code=1, says="holds a lone surrogate (U+D800)")
    assert Store(home).names() == []


@pytest.mark.parametrize(
    ("session", "says"),
    [
        ({"created": 1e300}, "created is not a time from 1970 to 9999"),
        ({"modified": float("inf")}, "modified is not a time"),
        ({"modified": float("nan")}, "modified is not a time"),
        ({"modified": 10**400}, "modified is not a time"),
        ({"created": -5.0}, "created is not a time"),
    ],
)
def test_import_refuses_times_that_are_not_times(
    home: Path, tmp_path: Path, session: dict[str, object], says: str
) -> None:
    path = tmp_path / "t.json"
    path.write_text(json.dumps(export_doc(**session)))  # NaN and Infinity as Python writes them
    one_line(run_cli(["sessions", "import", str(path)]), code=1, says=says)
    assert Store(home).names() == []
    r = run_cli(["sessions", "list"])
    assert r.code == 0 and "Traceback" not in r.err


def test_sessions_list_survives_a_time_it_cannot_show(home: Path) -> None:
    sessions = home / "sessions"
    sessions.mkdir(parents=True)
    header = {"t": "session", "schema": 1, "model": "openai:m", "created": 1e300}
    (sessions / "odd.jsonl").write_text(json.dumps(header) + "\n")
    r = run_cli(["sessions", "list"])
    assert r.code == 0 and "odd" in r.out, r
    r = run_cli(["sessions", "list", "--json"])
    assert r.code == 0 and json.loads(r.out)[0]["name"] == "odd", r


def llm_copy(tmp_path: Path, *sql: str, name: str = "logs.db") -> Path:
    db = tmp_path / name
    shutil.copy(LLM, db)
    con = sqlite3.connect(db)
    for statement in sql:
        con.execute(statement)
    con.commit()
    con.close()
    return db


@pytest.mark.parametrize(
    ("sql", "says"),
    [
        (
            ["update turns set output_tokens = 'many' where rowid = 1"],
            "turns.output_tokens is not a token count",
        ),
        (
            ["update responses set output_tokens = 'many' where rowid = 1"],
            "responses.output_tokens is not a token count",
        ),
        (
            ["update turns set output_tokens = -1e300 where rowid = 1"],
            "turns.output_tokens is not a token count",
        ),
        (
            ["update parts set text = cast(x'ff00' as blob) where type = 'text' and rowid = 1"],
            "parts.text is binary data",
        ),
    ],
)
def test_llm_odd_column_types_are_one_line_and_the_others_come(
    home: Path, tmp_path: Path, sql: list[str], says: str
) -> None:
    db = llm_copy(tmp_path, *sql)
    r = run_cli(["--model", "openai:m", "sessions", "import", str(db), "--all"])
    one_line(r, code=1, says=says)
    assert len(Store(home).names()) == 3  # the other three sessions


def test_llm_an_integer_id_and_a_blob_part_that_is_text(home: Path, tmp_path: Path) -> None:
    db = llm_copy(
        tmp_path,
        "create table c2 (id, name, model)",  # no type: an integer stays an integer
        "insert into c2 select * from conversations",
        "drop table conversations",
        "alter table c2 rename to conversations",
        "update responses set conversation_id = 4242 where conversation_id = "
        "(select id from conversations where rowid = 1)",
        "update conversations set id = 4242 where rowid = 1",
        "update parts set text = cast(text as blob) where type = 'text'",
    )
    r = run_cli(["--model", "openai:m", "sessions", "import", str(db), "--all"])
    assert r.code == 0, r
    assert "llm-4242" in Store(home).names()
    assert len(Store(home).names()) == 4


def test_llm_path_with_a_question_mark_reads_that_file(home: Path, tmp_path: Path) -> None:
    db = llm_copy(tmp_path, name="logs?mode=rwc&x.db")
    r = run_cli(["--model", "openai:m", "sessions", "import", str(db), "--all"])
    assert r.code == 0, r
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "logs?mode=rwc&x.db"]
    assert len(Store(home).names()) == 4


def test_an_import_killed_midway_leaves_nothing_or_everything(home: Path, tmp_path: Path) -> None:
    """The session's name appears only once the file is whole: kill -9 the
    import the moment the name appears; the session is complete."""
    doc = export_doc()
    doc["messages"] = [
        {"role": "user" if i % 2 == 0 else "assistant", "content": f"{i} " + "x" * (1 << 20)}
        for i in range(40)
    ]
    path = tmp_path / "big.json"
    path.write_text(json.dumps(doc))
    target = home / "sessions" / "imp.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "copilot_repl", "sessions", "import", str(path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "COPILOT_REPL_HOME": str(home)},
        cwd=ROOT,
    )
    try:
        while proc.poll() is None and not target.exists():
            pass  # waiting on a state: the name appearing (or the process ending)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    data = Store(home).load("imp").data
    assert len(data.messages) == 40
    assert [m.content.split()[0] for m in data.messages] == [str(i) for i in range(40)]


# -- sessions export: escapes from the model never run on a terminal ------------------
HOSTILE = "\x1b]52;c;ZXZpbA==\x07 hi \x1b[2J\u202e end\x9b31m"


def hostile_session(home: Path) -> None:
    from copilot_repl.history.messages import SessionData

    store = Store(home)
    store.create(SessionData(name="main", model="openai:m", created=1.0e9))
    store.append(
        "main",
        {"t": "msg", "role": "user", "content": "show me", "ts": 1.0e9},
        {"t": "msg", "role": "assistant", "content": HOSTILE, "ts": 1.0e9},
    )


def test_sessions_export_on_a_terminal_shows_escapes_visibly(home: Path) -> None:
    import pexpect

    hostile_session(home)
    for fmt in ("md", "json", "html"):
        child = pexpect.spawn(
            sys.executable,
            ["-m", "copilot_repl", "sessions", "export", "main", "--format", fmt],
            env={**os.environ, "COPILOT_REPL_HOME": str(home), "TERM": "xterm"},
            cwd=str(ROOT),
            timeout=GUARD,
        )
        raw = child.read()  # every byte the terminal got, until the process ends
        child.close()
        assert child.exitstatus == 0, raw
        assert b"\x1b" not in raw and b"\xc2\x9b" not in raw, (fmt, raw)
        assert "⟦U+202E⟧".encode() in raw
        if fmt != "json":
            assert "␛]52;c;ZXZpbA==".encode() in raw


def test_exported_documents_show_escapes_and_json_keeps_the_text(
    home: Path, tmp_path: Path
) -> None:
    hostile_session(home)
    for fmt in ("md", "html"):
        out = tmp_path / f"main.{fmt}"
        assert run_cli(["sessions", "export", "main", "--format", fmt, "-o", str(out)]).code == 0
        data = out.read_bytes()
        assert b"\x1b" not in data and b"\xc2\x9b" not in data and "␛[2J".encode() in data
    r = run_cli(["sessions", "export", "main", "--format", "json"])  # a pipe: data, exact
    assert json.loads(r.out)["messages"][1]["content"] == HOSTILE


# -- a read-only data dir: reads work, each write is one line -------------------------
def read_only(home: Path, args: list[str], stdin: str = "") -> Result:
    """copilot-repl with ``home`` mounted read-only (a private mount namespace)."""
    h = str(home)
    cmd = f'mount --bind {h} {h} && mount -o remount,bind,ro {h} && exec "$0" -m copilot_repl "$@"'
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", cmd, sys.executable, *args],
        input=stdin.encode(),
        capture_output=True,
        env={**os.environ, "COPILOT_REPL_HOME": h},
        timeout=GUARD,
        cwd=ROOT,
    )
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


def test_a_read_only_data_dir_reads_and_refuses_writes_in_one_line(
    server: FakeServer, home: Path, tmp_path: Path
) -> None:
    probe = tmp_path / "probe"
    probe.mkdir()
    try:
        blocked = read_only(probe, ["--version"])
    except FileNotFoundError:
        pytest.skip("no unshare here")
    if blocked.code != 0:
        pytest.skip(f"cannot mount read-only here: {blocked.err.strip()}")
    hostile_session(home)
    (home / "search.db").unlink(missing_ok=True)
    r = read_only(home, ["sessions", "list"])
    assert r.code == 0 and "main" in r.out, r
    r = read_only(home, ["sessions", "export", "main"])
    assert r.code == 0 and "show me" in r.out, r
    r = read_only(home, ["sessions", "show", "main", "--json"])
    assert r.code == 0 and json.loads(r.out)["messages"][0]["content"] == "show me", r
    r = read_only(home, ["--base-url", server.url], ":find show\n")
    assert r.code == 0 and "main@1" in r.out, r
    assert not (home / "search.db").exists()
    for args in (["sessions", "rm", "main"], ["sessions", "rename", "main", "other"]):
        one_line(read_only(home, args), code=1, says="read-only")
    r = read_only(home, ["--base-url", server.url, "-p", "hello"])
    one_line(r, code=1, says="read-only")
    assert Store(home).names() == ["main"]


def test_compare_name_is_never_a_path(server: FakeServer, home: Path, tmp_path: Path) -> None:
    outside = tmp_path / "x.jsonl"  # what home/compare/../../x.jsonl names
    header = {"t": "run", "v": 1, "name": "x", "models": ["openai:echo"], "prompts": ["hi"]}
    outside.write_text(json.dumps(header) + "\n")
    report = tmp_path / "report.md"
    r = run_cli(["--base-url", server.url], f":compare --name ../../x --report {report}\n")
    assert r.code == 1 and "invalid session name '../../x'" in r.err, r
    assert not report.exists()


def test_sessions_export_on_a_full_disk_is_one_line_and_leaves_no_file(
    home: Path, tmp_path: Path
) -> None:
    hostile_session(home)
    store = Store(home)
    store.append("main", {"t": "msg", "role": "user", "content": "x" * 100_000, "ts": 1.0e9})

    def full() -> None:  # a file-size limit: writes past it fail as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (50_000, 50_000))

    for extra in ([], ["--force"]):
        out = tmp_path / "out.md"
        if extra:
            out.write_text("the old export\n")
        proc = subprocess.run(
            [sys.executable, "-m", "copilot_repl", "sessions", "export", "main", "-o", str(out)]
            + extra,
            capture_output=True,
            env={**os.environ, "COPILOT_REPL_HOME": str(home)},
            cwd=ROOT,
            timeout=GUARD,
            preexec_fn=full,
        )
        err = proc.stderr.decode()
        assert proc.returncode == 1, err
        assert err.count(ERR) == 1 and f"cannot write {out}" in err and "Traceback" not in err
        if extra:
            assert out.read_text() == "the old export\n"  # replaced whole or not at all
        else:
            assert not out.exists()
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_a_deeply_nested_record_in_a_session_file_does_not_stop_an_export(home: Path) -> None:
    hostile_session(home)
    deep = '{"t":"msg","id":"r-1","x":' + "[" * 100_000 + "\n"
    with open(home / "sessions" / "main.jsonl", "a") as f:
        f.write(deep)
        f.write(json.dumps({"t": "msg", "role": "user", "content": "after", "ts": 1.0e9}) + "\n")
    r = run_cli(["sessions", "export", "main", "--format", "json"])
    assert r.code == 0 and "Traceback" not in r.err, r.err
    assert [m["content"] for m in json.loads(r.out)["messages"]][-1] == "after"
