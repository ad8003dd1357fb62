"""What the package ships besides its modules."""

from __future__ import annotations

import tomllib

from conftest import ROOT


def test_the_package_is_marked_typed_and_ships_the_marker() -> None:
    # PEP 561: users type-check their SDK programs against copilot_repl's types
    assert (ROOT / "copilot_repl" / "py.typed").is_file()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "py.typed" in project["tool"]["setuptools"]["package-data"]["copilot_repl"]
