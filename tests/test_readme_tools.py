"""The captures of README's tools section (a ```console block after a
``<!-- capture -->`` line) are runs of the program: each command runs again,
in order, in one data dir, against the loopback server's tool-calling model,
with ``[mcp.t]`` running tests/mcp_server.py and ``tool_timeout = 2``; its
stdout and stderr lines are those shown (times aside; stdout and stderr
interleave on a terminal, so the lines are compared as a multiset)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from fakeserver import FakeServer

from copilot_repl.config import ProviderSettings
from copilot_repl.errors import CopilotError
from copilot_repl.providers.copilot_cli import find_cli

pytest.importorskip("mcp")
SECTION = "## Tools and MCP servers"
CAPTURE = re.compile(r"<!-- capture(?:: (\w+))? -->\n```console\n(.*?)```", re.S)
SECONDS = re.compile(r"\b\d+\.\d s\b")


def captures() -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """(kind, [(command, its output lines)]) for each capture of the section."""
    text = (ROOT / "README.md").read_text()
    section = text.split(f"\n{SECTION}\n", 1)[1].split("\n## ", 1)[0]
    out = []
    for kind, body in CAPTURE.findall(section):
        runs: list[tuple[str, list[str]]] = []
        for line in body.splitlines():
            if line.startswith("$ "):
                runs.append((line[2:], []))
            else:
                runs[-1][1].append(line)
        out.append((kind, runs))
    return out


def have_copilot_cli() -> bool:
    try:
        find_cli(ProviderSettings(name="copilot", kind="copilot"), os.environ)
    except CopilotError:
        return False
    return True


def normal(lines: list[str]) -> list[str]:
    return sorted(SECONDS.sub("N s", line) for line in lines if line.strip())


def test_the_tools_captures_are_what_the_program_prints(
    server: FakeServer, tmp_path: Path, home: Path
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "tool_timeout = 2\n\n"
        f"[mcp.t]\ncommand = {sys.executable!r}\nargs = [{str(ROOT / 'tests/mcp_server.py')!r}]\n\n"
        f'[providers.copilot]\nbyok_base_url = "{server.url}"\ndefault_model = "gpt-4o-mini"\n'
    )
    wrapper = (
        f'copilot-repl() {{ "{sys.executable}" -m copilot_repl --config {config} '
        f'--base-url {server.url} "$@"; }}\n'
    )
    env = {**os.environ, "COPILOT_REPL_HOME": str(home), "PYTHONPATH": str(ROOT)}
    found = captures()
    assert [kind for kind, _ in found] == ["", "", "copilot"]
    for kind, runs in found:
        if kind == "copilot" and not have_copilot_cli():
            continue
        for command, shown in runs:
            done = subprocess.run(
                ["bash", "-c", wrapper + command],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp_path,
                timeout=300,  # a guard against a hang, never a timing
            )
            assert done.returncode == 0, (command, done.stderr)
            printed = done.stdout.splitlines() + done.stderr.splitlines()
            assert normal(printed) == normal(shown), command
