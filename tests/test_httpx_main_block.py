"""cli/main.py keeps httpx from importing its command-line client (click,
rich.progress, pygments: ~25 ms at start) by blocking ``httpx._main``, a
private module name. These fail when httpx changes that path, so the block
cannot silently turn into a no-op (or break ``import httpx``)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

PROBE = """
import io, json, sys
if sys.argv[1] == "main":
    from copilot_repl.cli.main import main
    main(["--version"], stdout=io.StringIO(), stderr=io.StringIO())
import httpx
print(json.dumps({
    "blocked": "httpx._main" in sys.modules and sys.modules["httpx._main"] is None,
    "loaded": sys.modules.get("httpx._main") is not None,
    "click": "click" in sys.modules,
    "stub": type(httpx.main).__name__ == "function",  # not the click command
}))
"""


def probe(how: str) -> dict[str, bool]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, how], capture_output=True, text=True, timeout=60, check=True
    )
    result: dict[str, bool] = json.loads(out.stdout)
    return result


@pytest.mark.skipif(importlib.util.find_spec("click") is None, reason="needs click installed")
def test_httpx_still_imports_its_command_line_client_from_httpx_main() -> None:
    assert probe("plain") == {"blocked": False, "loaded": True, "click": True, "stub": False}


def test_after_main_httpx_imports_without_it_and_keeps_its_stub() -> None:
    assert probe("main") == {"blocked": True, "loaded": False, "click": False, "stub": True}
