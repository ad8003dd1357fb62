"""Every ```sh block of the README runs as written, with bash, against the
loopback server, in a fresh data dir and an empty working directory; it
must exit 0 with no error on stderr.

The convention: a fenced block marked ```sh is an example that runs;
anything else (```console, ```text, ```toml) is not run. In a ```sh block,
``copilot-repl`` talks to the test server: any ``--base-url`` given is
replaced by the server's (so an example may name Ollama's URL), and
OPENAI_BASE_URL points there too. Blocks that never call ``copilot-repl``
(``make run``) are left to CI itself; the sections tests/test_cli_readme.py
runs with its fixtures are left to it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT
from fakeserver import FakeServer
from test_cli_readme import SECTIONS as RUN_ELSEWHERE


def sh_blocks() -> list[tuple[str, str]]:
    """(section title #n, code) for each ```sh block of the README."""
    out: list[tuple[str, str]] = []
    title = "top"
    seen: dict[str, int] = {}
    for match in re.finditer(r"^## ([^\n]+)$|^```sh\n(.*?)^```$", README.read_text(), re.M | re.S):
        if match.group(1):
            title = match.group(1).strip()
            continue
        seen[title] = seen.get(title, 0) + 1
        out.append((f"{title} #{seen[title]}", match.group(2)))
    return out


README = ROOT / "README.md"
BLOCKS = sh_blocks()


def wrapper(url: str) -> str:
    """``copilot-repl`` as a bash function: this checkout, the test server."""
    return f"""
copilot-repl() {{
  local args=()
  while (($#)); do
    case "$1" in
      --base-url) shift 2 ;;
      --base-url=*) shift ;;
      *) args+=("$1"); shift ;;
    esac
  done
  "{sys.executable}" -m copilot_repl --base-url {url} "${{args[@]}}"
}}
"""


@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[w for w, _ in BLOCKS])
def test_readme_example_runs(
    where: str, code: str, server: FakeServer, tmp_path: Path, home: Path
) -> None:
    if where.rsplit(" #", 1)[0] in RUN_ELSEWHERE:
        pytest.skip("run by tests/test_cli_readme.py, with its fixtures")
    if "copilot-repl" not in code:
        pytest.skip("not a copilot-repl example (make targets run in CI itself)")
    work = tmp_path / "work"
    work.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "COPILOT_REPL_HOME": str(home),
        "OPENAI_BASE_URL": server.url,
        "PYTHONPATH": str(ROOT),
    }
    proc = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + wrapper(server.url) + code],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,  # a guard, not a timing test
    )
    assert proc.returncode == 0, (where, proc.stdout, proc.stderr)
    assert "error" not in proc.stderr, (where, proc.stderr)
    assert proc.stdout.strip(), where  # an example shows something
