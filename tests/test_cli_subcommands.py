"""Every subcommand maps its errors to an exit status and one line the same
way (cli/output.run_subcommand): a usage error while its arguments are read
ends "(see copilot-repl NAME --help)", exit 2; a config that cannot be used,
exit 2; a failure once it runs, exit 1. This table pins each one's."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_cli

HINT = " (see copilot-repl {} --help)"
NO_CONFIG = "config file /nonexistent.toml: not found"
CASES: list[tuple[list[str], int, str]] = [
    (["models", "--bogus"], 2, "unrecognized arguments: --bogus" + HINT.format("models")),
    (["models", "--config", "/nonexistent.toml"], 2, NO_CONFIG + HINT.format("models")),
    (["compare", "--models", "a"], 2, "the following arguments are required: --prompts"
     + HINT.format("compare")),
    (["compare", "--models", "nope:x", "--prompts", "P"], 2, "unknown provider 'nope' "
     "(known: copilot, github, local, ollama, openai)" + HINT.format("compare")),
    (["compare", "--config", "/nonexistent.toml", "--models", "a", "--prompts", "P"], 2,
     NO_CONFIG),
    (["vote", "a", "b", "c"], 2, "give [NAME] VERDICT" + HINT.format("vote")),
    (["vote", "--config", "/nonexistent.toml"], 2, NO_CONFIG),
    (["vote", "A"], 1, "no blind comparison waits for a vote; :blind A,B PROMPT starts one"),
    (["sessions", "--bogus"], 2, "unrecognized arguments: --bogus" + HINT.format("sessions")),
    (["sessions", "list", "--config", "/nonexistent.toml"], 2, NO_CONFIG),
    (["sessions", "show", "nope"], 1, "no session named 'nope'"),
    (["sessions", "export", "x", "--json"], 2,
     "sessions export: --json reports where it wrote: give -o FILE"),
    (["completion"], 2, "give the shell: bash, zsh or fish" + HINT.format("completion")),
    (["completion", "--list", "sessions", "--config", "/nonexistent.toml"], 1, ""),  # silent
]  # fmt: skip


@pytest.mark.parametrize(("argv", "code", "line"), CASES, ids=[" ".join(c[0]) for c in CASES])
def test_each_subcommand_has_its_exit_status_and_error_line(
    tmp_path: Path, argv: list[str], code: int, line: str
) -> None:
    prompts = tmp_path / "p.txt"
    prompts.write_text("hi\n")
    argv = [str(prompts) if a == "P" else a for a in argv]
    result = run_cli(argv, env={"COPILOT_REPL_HOME": str(tmp_path)})
    assert result.code == code
    assert result.err == (f"copilot-repl: error: {line}\n" if line else "")


@pytest.mark.parametrize("name", ["sessions", "compare", "vote", "models", "completion"])
def test_each_subcommand_help_exits_0(name: str, tmp_path: Path) -> None:
    result = run_cli([name, "--help"], env={"COPILOT_REPL_HOME": str(tmp_path)})
    assert result.code == 0 and result.out.startswith(f"usage: copilot-repl {name}")
