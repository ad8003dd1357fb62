"""``-o`` as llm spells it: ``llm 'prompt' -o temperature 1.5`` (name and
value, two arguments; llm's docs/usage.md), besides ``-o KEY=VALUE``. The
llm form was refused with a message about quoting the prompt."""

from __future__ import annotations

from pathlib import Path

from conftest import run_proc
from fakeserver import FakeServer


def test_o_takes_a_name_and_a_value_as_llm_does(server: FakeServer, home: Path) -> None:
    url = ["--base-url", server.url, "-m", "echo"]
    r = run_proc([*url, "hi there", "-o", "temperature", "1.5", "-o", "presence_penalty", "-0.5"])
    assert (r.code, r.out) == (0, "echo: hi there\n"), r.err
    body = server.requests[-1]["body"]
    assert (body["temperature"], body["presence_penalty"]) == (1.5, -0.5)
    r = run_proc([*url, "-o", "max_tokens", "40", "-o", "stop=END", "-p", "again"])
    assert r.code == 0, r.err
    body = server.requests[-1]["body"]
    assert (body["max_tokens"], body["stop"]) == (40, "END")


def test_o_with_a_name_alone_says_what_it_takes(server: FakeServer, home: Path) -> None:
    r = run_proc(["--base-url", server.url, "-o", "temperature", "-p", "x"])
    assert r.code == 2
    assert r.err.startswith("copilot-repl: error: -o takes KEY=VALUE or KEY VALUE"), r.err


def test_a_subcommand_s_own_o_is_left_alone(server: FakeServer, home: Path, tmp_path: Path) -> None:
    """``sessions export -o FILE NAME``: -o is the subcommand's output file."""
    assert run_proc(["--base-url", server.url, "--session", "s", "-p", "hello"]).code == 0
    out = tmp_path / "s.md"
    r = run_proc(["sessions", "export", "-o", str(out), "s"])
    assert r.code == 0, r.err
    assert "hello" in out.read_text()
