"""Session names: what is allowed (safe as a file name on any system) and
picking a free one (pure)."""

from __future__ import annotations

import re
from collections.abc import Iterable

from copilot_repl.errors import BadSessionName

NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Names that are devices on Windows: refused everywhere so a data dir can move.
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(1, 10)}


def validate_name(name: str) -> str:
    """Return ``name`` if it is a valid session name, else raise BadSessionName."""
    if not name:
        raise BadSessionName("a session name cannot be empty")
    if "\x00" in name or not NAME_RE.fullmatch(name):
        shown = name.replace("\x00", "\\0")[:80]
        raise BadSessionName(
            f"invalid session name {shown!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if name.split(".")[0].lower() in _RESERVED:
        raise BadSessionName(f"invalid session name {name!r}: reserved device name")
    return name


def free_name(taken: Iterable[str], base: str = "chat") -> str:
    """The first of base-1, base-2, ... not in ``taken``."""
    used = set(taken)
    i = 1
    while f"{base}-{i}" in used:
        i += 1
    return f"{base}-{i}"
