"""README's command table is the registry's: every command, its usage and
help, nothing stale (regenerate with ``Registry.markdown_rows``)."""

from __future__ import annotations

import re
from pathlib import Path

from copilot_repl.repl.commands import command_groups
from copilot_repl.repl.registry import Registry

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_rows() -> list[str]:
    text = README.read_text()
    block = re.search(r"<!-- commands:[^>]*-->\n(.*?)\n<!-- /commands -->", text, re.S)
    assert block, "README.md has no generated command table"
    return block.group(1).splitlines()[2:]  # after the header and the rule


def test_readme_lists_exactly_the_registered_commands() -> None:
    assert readme_rows() == Registry(*command_groups(None)).markdown_rows()


def corrupt_file_warning(tmp: Path) -> str:
    """The warning a damaged session file really gives (composed of parts,
    so it is produced, not looked up)."""
    from copilot_repl.history.messages import SessionData
    from copilot_repl.history.store import Store

    store = Store(tmp)
    store.create(SessionData(name="s", model="openai:x"))
    with store.path("s").open("a") as f:
        f.write('{"t":"msg","role":"nobody"}\n{"t":"truncate","keep":-1}\n')
    return "\n".join(store.load("s").warnings)


def test_troubleshooting_quotes_real_messages(tmp_path: Path) -> None:
    """Each quoted message (the parts between the …, PROVIDER, URL, N
    placeholders) is written somewhere in the source, or produced for real."""
    text = README.read_text()
    section = text[text.index("## Troubleshooting") : text.index("## How the code is laid out")]
    quotes = re.findall(r'\*\*"(.+?)"\*\*', section)
    assert len(quotes) >= 8
    source = "\n".join(p.read_text() for p in (README.parent / "copilot_repl").rglob("*.py"))
    source += "\n" + corrupt_file_warning(tmp_path)
    placeholders = r"…|\b(?:PROVIDER|URL|VAR|FILE|N|L)\b|OPENAI_API_KEY|\(first at line L\)"
    for quote in quotes:
        for piece in re.split(placeholders, quote):
            piece = piece.strip(" ();:`")
            if len(piece) >= 8:
                assert piece.replace("`", "`") in source, (quote, piece)


def test_the_python_api_example_runs_as_pasted(server: object, home: Path) -> None:
    import subprocess
    import sys

    from conftest import ROOT

    text = README.read_text()
    section = text[text.index("## Python API") :]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "COPILOT_REPL_HOME": str(home),
        "OPENAI_BASE_URL": server.url,  # type: ignore[attr-defined]
    }
    run = subprocess.run(
        [sys.executable, "-c", code.group(1)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "echo: How do I create a venv?" in run.stdout
    assert "work " in run.stdout
