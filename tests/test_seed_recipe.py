"""The seed recipe, examples/multiple_sessions.py, run as written (only its
import differs from the SDK program) on a model that takes a while to
answer, so that every follow-up is sent while the session is still busy.

The program deletes its sessions at the end; what they held on disk just
before is read back by the conformance observer (tests/conformance/observe.py)
when the program calls ``delete_session``, as another process would read it.
The server's request log shows what each reply was asked with."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path
from typing import Any

from conftest import ROOT
from fakeserver import FakeServer

sys.path.insert(0, str(ROOT / "tests" / "conformance"))
from runner import PROGRAMS, run_side, swap_imports  # noqa: E402

EXAMPLE = ROOT / "examples" / "multiple_sessions.py"
REPLY_SECONDS = 0.5  # the server's pause before each reply (never asserted on)
PROMPTS = {
    "S1": ["You are helping with a Python project", "How do I create a virtual environment?"],
    "S2": ["You are helping with a TypeScript project", "How do I set up tsconfig?"],
    "S3": ["You are helping with a Go project"],
}


def code_of(text: str) -> list[str]:
    """The program without its module docstring and the runner's # headers."""
    tree = ast.parse(text)
    first = tree.body[0]
    start = first.end_lineno if isinstance(first, ast.Expr) else 0
    lines = text.splitlines()[start or 0 :]
    return [x for x in lines if not re.match(r"# (sdk|reply-delay):", x)]


def test_the_example_is_the_seed_recipe_with_only_the_import_changed() -> None:
    seed = (PROGRAMS / "seed_recipe.py").read_text(encoding="utf-8")
    assert "from copilot import CopilotClient" in seed
    assert code_of(EXAMPLE.read_text(encoding="utf-8")) == code_of(swap_imports(seed))


def by_session(trace: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, Any]]:
    names: dict[str, str] = {}
    for rec in trace:
        if rec["kind"] == "create":
            names[rec["session"]] = f"S{len(names) + 1}"
    return names, {names[r["session"]]: r for r in trace if r["kind"] == "on_disk"}


def test_the_seed_recipe_runs_as_written_on_a_slow_model(tmp_path: Path) -> None:
    with FakeServer(first_delay=REPLY_SECONDS) as server:
        run = run_side(EXAMPLE, "repl", server, tmp_path, shape="0.1")
    assert run.code == 0, run.stderr
    names, on_disk = by_session(run.trace)
    assert sorted(on_disk) == ["S1", "S2", "S3"]  # each read just before its deletion

    # every session holds its turns, prompt then reply, in the order sent
    for label, prompts in PROMPTS.items():
        saved = on_disk[label]["messages"]
        expected = []
        for prompt in prompts:
            expected += [("user", prompt, "done"), ("assistant", f"echo: {prompt}", "done")]
        assert [(m["role"], m["content"], m["status"]) for m in saved] == expected, label

    # each session's events: its turns one after the other, one idle per drain
    for label in PROMPTS:
        sid = next(s for s, n in names.items() if n == label)
        kinds = [
            r["type"]
            for r in run.trace
            if r["kind"] == "event"
            and r["session"] == sid
            and not r["ephemeral"]
            and r["type"] != "session.idle"
        ]
        per_turn = ["user.message", "assistant.turn_start", "assistant.message"]
        per_turn += ["assistant.turn_end"]
        turns = len(PROMPTS[label])
        assert kinds == ["session.start", *per_turn * turns], label
        idles = [r for r in run.trace if r.get("type") == "session.idle" and r["session"] == sid]
        # S1's follow-up was queued behind its first turn: one idle, at the end
        assert len(idles) == (1 if label in ("S1", "S3") else 2), label

    # send_and_wait returned the reply to its own prompt
    sid = {n: s for s, n in names.items()}
    assert f"[{sid['S1']}] echo: How do I create a virtual environment?" in run.stdout
    assert f"[{sid['S2']}] echo: How do I set up tsconfig?" in run.stdout

    # each follow-up was asked with the first turn in its history
    chats = [r["body"]["messages"] for r in run.requests if r["path"].endswith("/completions")]
    assert len(chats) == 5
    for label in ("S1", "S2"):
        first, second = PROMPTS[label]
        [asked] = [m for m in chats if m[-1]["content"] == second]
        assert [(m["role"], m["content"]) for m in asked if m["role"] != "system"] == [
            ("user", first),
            ("assistant", f"echo: {first}"),
            ("user", second),
        ]
