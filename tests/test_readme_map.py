"""README's code map ("How the code is laid out") names every module: each
file of the package root, each wing folder and every file and sub-folder in
it (a folder without a row of its own, such as ``generated/``, is named in
another). A module added without a word there fails here."""

from __future__ import annotations

import re

from conftest import ROOT

PKG = ROOT / "copilot_repl"
UNLISTED = {"__init__.py", "__main__.py", "_version.py"}  # no reader looks for these


def code_map() -> dict[str, str]:
    """The map's rows: the folder a row is about (``""``: the package root's
    files) -> the row's text."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    rows: dict[str, str] = {}
    for line in section.splitlines():
        cells = line.split(" | ")
        if not line.startswith("| `") or len(cells) < 2:
            continue
        first = re.findall(r"`([^`]+)`", cells[0])
        for name in first:
            folder = name.rstrip("/") if name.endswith("/") else ""
            rows[folder] = rows.get(folder, "") + line
    return rows


def names_in(row: str) -> set[str]:
    return set(re.findall(r"`([^`]+)`", row))


def missing() -> list[str]:
    rows = code_map()
    whole = "".join(rows.values())
    out = []
    for path in sorted(PKG.iterdir()):
        if path.name in UNLISTED or path.name.startswith((".", "__pycache__")):
            continue
        if path.is_file() and path.suffix == ".py":
            if path.name not in names_in(whole):
                out.append(path.name)
        elif path.is_dir():
            if path.name not in rows:  # named in another wing's row will do
                if f"{path.name}/" not in names_in(whole):
                    out.append(f"{path.name}/")
                continue
            listed = names_in(rows[path.name]) | names_in(whole)
            for child in sorted(path.iterdir()):
                if child.name in UNLISTED or child.name == "__pycache__":
                    continue
                if not (child.suffix == ".py" or child.is_dir()):
                    continue
                shown = child.name + "/" if child.is_dir() else child.name
                if shown not in listed and f"{path.name}/{shown}" not in listed:
                    out.append(f"{path.name}/{shown}")
    return out


def test_the_code_map_names_every_module() -> None:
    assert missing() == []
