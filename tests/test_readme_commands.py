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
