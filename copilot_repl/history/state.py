"""``state.json``: which session was active last (``{"current": NAME}``), read
at start so the shell opens where the user left off. Losing it is harmless:
it is replaced whole (temp file, then rename) and a bad one reads as none."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

from copilot_repl.history import files

STATE = "state.json"


def named_current(root: Path) -> str | None:
    """The name ``state.json`` holds, whether or not it is a session."""
    try:
        state = json.loads(files.read_small(root / STATE) or b"null")
    except (ValueError, RecursionError):
        return None
    name = state.get("current") if isinstance(state, dict) else None
    return name if isinstance(name, str) else None


def set_current(root: Path, name: str) -> None:
    with contextlib.suppress(OSError):  # losing "last active session" is harmless
        files.write_atomic(root / STATE, json.dumps({"current": name}).encode())
