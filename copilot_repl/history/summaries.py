"""What ``:ls`` shows of each session (``Summary``), and ``summaries.json``,
the cache that spares reading a file unchanged since it was last summarised:
an entry holds for the file's size, mtime and inode (its key) only. A cache:
a bad or missing one is read as empty, and it is replaced whole."""

from __future__ import annotations

import contextlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from copilot_repl.history import files
from copilot_repl.history.reader import Loaded

CACHE = "summaries.json"
SUMMARY_CHARS = 200  # of the first prompt, as a session's summary


@dataclass(frozen=True)
class Summary:
    """What ``:ls`` shows."""

    name: str
    model: str
    messages: int
    modified: float
    created: float
    origin: str = ""  # "oneshot", "compare": listed only on request (:ls --all)
    cwd: str = ""  # the working directory it was created for
    first_prompt: str = ""  # its first user message, first line (the SDK's summary)


def summarize(name: str, loaded: Loaded) -> Summary:
    """The summary of a session as ``load`` gave it."""
    data = loaded.data
    msgs = data.messages  # a long session's are read as asked for: the first alone, mostly
    if msgs and msgs[0].role == "user":
        first = msgs[0].content
    else:
        first = next((m.content for m in msgs if m.role == "user"), "")
    first = first.strip().partition("\n")[0][:SUMMARY_CHARS]
    return Summary(
        name,
        data.model,
        len(data.messages),
        data.modified,
        data.created,
        loaded.origin,
        data.cwd,
        first,
    )


def read_cache(root: Path) -> dict[str, Any]:
    raw = files.read_small(root / CACHE)
    try:
        data = json.loads(raw) if raw else {}
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def write_cache(root: Path, cache: dict[str, dict[str, Any]]) -> None:
    with contextlib.suppress(OSError):  # a cache: :ls reads the files again next time
        data = json.dumps(cache, separators=(",", ":")).encode()
        files.write_atomic(root / CACHE, data)


# The types a cached summary's fields may have (``Summary``'s annotations).
_CACHED_TYPES: dict[str, type] = {"str": str, "int": int, "float": float}
_NOT_CACHED = ("name", "modified")  # the file's name and mtime say these
# (field, its type) of each field a cache entry holds
_CACHED = tuple(
    (f.name, _CACHED_TYPES[str(f.type)]) for f in fields(Summary) if f.name not in _NOT_CACHED
)


def cache_entry(summary: Summary, key: list[int]) -> dict[str, Any]:
    """A summary as ``summaries.json`` keeps it: its fields, and the file's
    size, mtime and inode it is valid for."""
    entry = {k: v for k, v in asdict(summary).items() if k not in _NOT_CACHED}
    return {"key": key, **entry}


def from_cache(name: str, hit: Any, key: list[int], mtime: float) -> Summary | None:
    """The cached summary, if it is for this very file and holds every
    field of ``Summary``, each of its type; else None (read the file)."""
    if type(hit) is not dict or hit.get("key") != key:
        return None
    for field_name, kind in _CACHED:
        if type(hit.get(field_name)) is not kind:
            return None
    return Summary(name=name, modified=mtime, **{field: hit[field] for field, _ in _CACHED})
