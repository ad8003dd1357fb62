"""Every example in the README sections on one-shot prompts, the sessions
subcommands, --json and importing runs as written (bash, with jq), against
the loopback server; each block in a fresh data dir holding a session main."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from fakeserver import FakeServer

SECTIONS = [
    "One-shot prompts",
    "Managing sessions from the command line",
    "Scripting with JSON",
    "Bringing your history from Copilot CLI or llm",
]
FIXTURES = ROOT / "tests" / "fixtures"


def sh_block(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    section = text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert blocks, title
    return "".join(blocks)


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
@pytest.mark.parametrize("title", SECTIONS)
def test_readme_examples_run(title: str, server: FakeServer, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(ROOT / "pyproject.toml", work)
    copilot_home = tmp_path / "copilot"
    shutil.copytree(FIXTURES / "copilot-session-state", copilot_home / "session-state")
    llm_home = tmp_path / "llm"
    llm_home.mkdir()
    shutil.copy(FIXTURES / "llm-logs.db", llm_home / "logs.db")
    prelude = (
        "set -euo pipefail\n"
        f'copilot-repl() {{ "{sys.executable}" -m copilot_repl --base-url {server.url} "$@"; }}\n'
        "echo hello | copilot-repl --session main > /dev/null\n"
    )
    block = "\n".join(
        'echo "$ ' + line.replace('"', "'") + '"\n' + line for line in sh_block(title).splitlines()
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "COPILOT_REPL_HOME": str(tmp_path / "home"),
        "COPILOT_HOME": str(copilot_home),
        "LLM_USER_PATH": str(llm_home),
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        ["bash", "-c", prelude + block + "\n"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "error" not in proc.stderr, proc.stderr
    # every command that prints something printed it
    chunks = proc.stdout.split("$ ")[1:]
    assert len(chunks) == len(sh_block(title).splitlines())
    for chunk in chunks:
        command, _, output = chunk.partition("\n")
        if not any(word in command for word in ("sessions rm", "-o ", "rename")):
            assert output.strip(), command
