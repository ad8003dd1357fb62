"""Reading sessions from other tools (and our own exports) for
``sessions import``: pure reading, no store writes, no network.

- ``copilot``: the GitHub Copilot CLI's session-state folder (one folder per
  session holding an ``events.jsonl``), ``$COPILOT_HOME/session-state`` or
  ``~/.copilot/session-state`` by default.
- ``llm``: simonw/llm's ``logs.db`` (SQLite), ``$LLM_USER_PATH/logs.db`` or
  ``~/.config/io.datasette.llm/logs.db`` by default: conversations of
  llm < 0.36 and threads of llm >= 0.36.
- ``json``: a ``sessions export --format json`` document.

Every reader raises ``ImportFailed`` naming the file and what it did not
understand; nothing is read half. Files are read through ``history/inputs.py``
(regular files only, size capped, nesting bounded)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from copilot_repl.errors import BadUsage, ImportFailed
from copilot_repl.history.exchange import Imported, checked, read_document
from copilot_repl.history.inputs import open_input

SQLITE_MAGIC = b"SQLite format 3\x00"


def default_path(kind: str, env: Mapping[str, str]) -> Path:
    if kind == "copilot":
        home = env.get("COPILOT_HOME")
        return (Path(home) if home else Path.home() / ".copilot") / "session-state"
    user = env.get("LLM_USER_PATH")
    return (Path(user) if user else Path.home() / ".config" / "io.datasette.llm") / "logs.db"


def detect(path: Path) -> str:
    """``copilot``, ``llm`` or ``json``, from what ``path`` holds."""
    if path.is_dir():
        return "copilot"
    if path.name == "events.jsonl":
        return "copilot"
    fd = open_input(path, error=ImportFailed)  # a FIFO or device: one line, never a wait
    try:
        head = os.read(fd, len(SQLITE_MAGIC))
    except OSError as exc:
        raise ImportFailed(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return "llm" if head == SQLITE_MAGIC else "json"


def gather(
    source: str | None,
    ids: list[str],
    *,
    kind: str | None,
    every: bool,
    env: Mapping[str, str],
    as_name: str | None = None,
) -> tuple[list[tuple[str, Imported]], list[str]]:
    """The sessions to import, each with the name it will get, and one line
    for each chosen session that cannot be read (the others are imported)."""
    ids = list(ids)
    if source is None or (kind and not Path(source).expanduser().exists() and not ids):
        if kind is None:
            raise BadUsage("sessions import: give a FILE or DIR (or --from copilot|llm)")
        if source is not None:
            ids.insert(0, source)  # an ID, read from the default place
        path = default_path(kind, env)
    else:
        path = Path(source).expanduser()
    if not path.exists():
        raise ImportFailed(f"{path}: no such file or directory")
    found = kind or detect(path)
    if found == "json":
        if ids or every:
            raise BadUsage("sessions import: IDs and --all are for --from copilot|llm")
        imported = checked(read_document(path))
        return [(as_name or imported.data.name, imported)], []
    if found == "copilot":
        # start-up: llm's log needs sqlite3
        from copilot_repl.history.importers import copilot as reader
    else:
        from copilot_repl.history.importers import llm as reader  # type: ignore[no-redef]
    available = reader.list_ids(path)
    chosen = choose(available, ids, every=every, where=str(path))
    if as_name is not None and len(chosen) != 1:
        raise BadUsage(f"--as names one session; {len(chosen)} were chosen")
    items, failed = [], []
    for sid in chosen:
        try:
            items.append((as_name or reader.default_name(sid), checked(reader.read(path, sid))))
        except ImportFailed as exc:
            failed.append(str(exc))
    return items, failed


def choose(available: list[str], ids: list[str], *, every: bool, where: str) -> list[str]:
    """The IDs chosen (an unambiguous prefix will do); all with ``every``; the
    only one if there is just one."""
    if every:
        if ids:
            raise BadUsage("give IDs or --all, not both")
        if not available:
            raise ImportFailed(f"{where}: no sessions found")
        return available
    if not ids:
        if len(available) == 1:
            return available
        if not available:
            raise ImportFailed(f"{where}: no sessions found")
        shown = ", ".join(available[:5]) + (", ..." if len(available) > 5 else "")
        raise BadUsage(f"{where} holds {len(available)} sessions ({shown}): give IDs or --all")
    out = []
    for want in ids:
        hits = [a for a in available if a == want] or [a for a in available if a.startswith(want)]
        if not hits:
            raise ImportFailed(f"{where}: no session {want!r}")
        if len(hits) > 1:
            raise BadUsage(f"{want!r} matches {len(hits)} sessions in {where}; give more of it")
        out.append(hits[0])
    return list(dict.fromkeys(out))
