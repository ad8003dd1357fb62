"""The config file itself: read as TOML, and where in it a setting is (an
error names the file and the line)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from copilot_repl.config.settings import PROVIDER_KEYS, TOP_KEYS
from copilot_repl.errors import ConfigError

_TYPE_NAMES: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "a table",
    list: "an array",
}


def type_name(value: object) -> str:
    """``value``'s kind as an error names it ("an integer", "a table")."""
    kind = next((t for t in (bool, int, float, str, dict, list) if isinstance(value, t)), None)
    return _TYPE_NAMES[kind] if kind is not None else "a date or time"


def expected(want: type | tuple[type, ...]) -> str:
    if isinstance(want, tuple):
        return "a number"
    return _TYPE_NAMES[want]


def did_you_mean(key: str, known: Iterable[str]) -> str:
    import difflib  # start-up: an SDK program (no CLI) loads it only after a typo

    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def exists(path: Path) -> bool:
    """Whether the config file is there; a place that cannot even be looked
    at (a data dir we may not enter, a name too long) is one line, exit 2."""
    try:
        return path.exists()
    except OSError as exc:
        raise ConfigError(
            f"cannot look for the config file {path}: {exc.strerror or exc}; "
            "check --data-dir / COPILOT_REPL_HOME"
        ) from None


def read_toml(path: Path) -> dict[str, Any]:
    """The file's tables, its top-level keys known and ``model``/``system`` strings."""
    import tomllib  # start-up: only a run with a config file pays for the TOML parser

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path}: not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path}: cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: {exc}") from None
    unknown = set(data) - TOP_KEYS
    if unknown:
        key = sorted(unknown)[0]
        hint = (
            " (it belongs in a [providers.NAME] table)"
            if key in PROVIDER_KEYS
            else did_you_mean(key, TOP_KEYS)
        )
        raise ConfigError(f"{where(path, key)}: unknown setting {key!r}{hint}")
    for key in ("model", "system"):
        if key in data and not isinstance(data[key], str):
            raise ConfigError(
                f"{where(path, key)}: {key!r} must be a string, not {type_name(data[key])}"
            )
    return data


def where(path: Path, key: str, table: str = "") -> str:
    """``file, line N`` for the first line that sets ``key`` (inside the
    ``[table]`` section when it has one), best effort."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return f"config file {path}"
    pat = re.compile(rf"^\s*(\[[^\]]*)?{re.escape(key)}\b")
    for i in _section(lines, table):
        if pat.search(lines[i]):
            return f"config file {path}, line {i + 1}"
    return f"config file {path}"


def _section(lines: list[str], table: str) -> range:
    """Indexes of the lines of the ``[table]`` section (all lines if not found)."""
    header = re.compile(rf"^\s*\[\s*{re.escape(table)}\s*\]")
    start = next((i for i, line in enumerate(lines) if table and header.match(line)), None)
    if start is None:
        return range(len(lines))
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")),
        len(lines),
    )
    return range(start, end)
