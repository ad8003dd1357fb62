"""What many tests use: sessions made on disk, records read back from a
file, waiting for a state (never for a time), the keys a test types and a
prompt whose reply streams slowly."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from copilot_repl.history.messages import SessionData
from copilot_repl.history.store import Store

MODEL = "openai:gpt-4o-mini"
TAB, SHIFT_TAB, CTRL_C, CTRL_D, UP, ESC_ENTER = "\t", "\x1b[Z", "\x03", "\x04", "\x1b[A", "\x1b\r"
CTRL_Z = "\x1a"


def slow(n: int, delay: float = 0.05, word: str = "w") -> str:
    """A prompt whose echo reply streams ``n`` words, ``delay`` s apart."""
    return f"#delay={delay} " + " ".join(f"{word}{i}" for i in range(n))


def new_store(root: Path, *names: str, model: str = MODEL) -> Store:
    """A store at ``root`` holding an empty session for each of ``names``."""
    store = Store(root)
    for name in names:
        store.create(SessionData(name=name, model=model, created=1000.0))
    return store


def msg(role: str, content: str, ts: float = 1.0, **extra: object) -> dict[str, object]:
    """A ``msg`` record, for ``Store.append``."""
    return {"t": "msg", "role": role, "content": content, "ts": ts, **extra}


def records(path: Path) -> list[dict[str, Any]]:
    """The records of a JSON Lines file (none if it is missing)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


def session_records(home: Path, name: str) -> list[dict[str, Any]]:
    """The records of the session ``name`` in the data dir ``home``."""
    return records(home / "sessions" / f"{name}.jsonl")


def wait_for(predicate: Callable[[], object], timeout: float = 30.0) -> None:
    """Poll until ``predicate()`` is true (a guard against hanging, not a timing test)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


MCP_SERVER = Path(__file__).with_name("mcp_server.py")  # a real stdio MCP server


def mcp_config_text(name: str = "t") -> str:
    """config.toml's table for the test MCP server, as ``[mcp.NAME]``."""
    return f"[mcp.{name}]\ncommand = {sys.executable!r}\nargs = [{str(MCP_SERVER)!r}]\n"
