"""Pure parsing of input lines and command arguments."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from copilot_repl.errors import UsageError


@dataclass(frozen=True)
class Line:
    """What one input line asks for."""

    kind: str  # "command", "prompt" or "empty"
    name: str = ""  # command name (without ':')
    args: str = ""  # the rest of a command line, or the prompt text
    background: bool = False  # a prompt ending in " &"


def parse_line(text: str) -> Line:
    """Classify a line: ``:cmd args``, a prompt (``::x`` sends ``:x``), or nothing."""
    stripped = text.strip()
    if not stripped:
        return Line("empty")
    if stripped.startswith("::"):
        return _prompt(stripped[1:])
    if stripped.startswith(":"):
        name, _, rest = stripped[1:].partition(" ")
        return Line("command", name.strip().lower(), rest.strip())
    return _prompt(text.strip("\n"))


def _prompt(text: str) -> Line:
    body = text.rstrip()
    if body.endswith("\\&"):  # a backslash before a final "&": the "&" is sent
        return Line("prompt", args=(body[:-2] + "&").strip())
    if body.endswith(" &") or body == "&":
        return Line("prompt", args=body[:-1].rstrip(), background=True)
    return Line("prompt", args=text.strip())


@dataclass
class Args:
    positional: list[str] = field(default_factory=list)
    flags: dict[str, str] = field(default_factory=dict)
    switches: set[str] = field(default_factory=set)  # flags that take no value, given


def split_args(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"cannot parse arguments: {exc}") from None


def parse_args(
    text: str,
    flags: Mapping[str, str] | None = None,
    *,
    min_pos: int = 0,
    max_pos: int | None = None,
    usage: str = "",
    switches: Collection[str] = (),
) -> Args:
    """Split ``text`` into positionals, ``--flag VALUE`` options and
    ``--switch`` options (no value).

    ``flags`` maps accepted flags (and short aliases) to their canonical name;
    a flag whose canonical name is in ``switches`` takes no value.
    """
    flags = flags or {}
    out = Args()
    tokens = split_args(text)
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok == "--":  # everything after it is positional
            out.positional.extend(tokens[i + 1 :])
            break
        if tok.startswith("-") and len(tok) > 1:
            key, eq, value = tok.partition("=")
            if key not in flags:
                raise UsageError(f"unknown option {key}" + (f"; usage: {usage}" if usage else ""))
            if flags[key] in switches:
                if eq:
                    raise UsageError(f"option {key} takes no value")
                out.switches.add(flags[key])
                i += 1
                continue
            if not eq:
                i += 1
                if i >= len(tokens):
                    raise UsageError(f"option {key} needs a value")
                value = tokens[i]
            out.flags[flags[key]] = value
        else:
            out.positional.append(tok)
        i += 1
    if len(out.positional) < min_pos or (max_pos is not None and len(out.positional) > max_pos):
        raise UsageError(f"usage: {usage}" if usage else "wrong number of arguments")
    return out


def nearest(word: str, choices: Sequence[str]) -> str | None:
    """The closest known word, for 'did you mean' hints."""

    prefixed = sorted((c for c in choices if c.startswith(word)), key=len) if word else []
    if prefixed:
        return prefixed[0]  # ":hist" means :history, however close :list looks
    import difflib  # start-up: only after a typo

    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return found[0] if found else None


_NAME = r"[A-Za-z0-9][A-Za-z0-9._-]*"
_TARGETS = re.compile(rf"\s*({_NAME}(?:\s*,\s*{_NAME})*)(?:\s+(.*))?\Z", re.DOTALL)


def split_targets(text: str) -> tuple[list[str], str]:
    """``a,b PROMPT`` (or ``a, b PROMPT``) -> (["a", "b"], "PROMPT"): the names
    joined by commas, spaces allowed around them, then the prompt. Names that
    are not valid session names, or nothing: ([], "")."""
    found = _TARGETS.match(text)
    if found is None:
        return [], ""
    names = [n.strip() for n in found.group(1).split(",")]
    return list(dict.fromkeys(names)), (found.group(2) or "").strip()


_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key putting ``sess-2`` before ``sess-10`` (case-insensitive)."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in _DIGITS.split(name)
        if part
    )


def natural_sorted(names: Collection[str]) -> list[str]:
    return sorted(names, key=natural_key)


def dropped_file(text: str) -> str | None:
    """The path of an existing file when ``text`` (pasted) is that path
    alone, as terminals paste a file dropped on them: as it is, quoted
    (``'/tmp/a cat.png'``), backslash-escaped (``/tmp/a\\ cat.png``) or a
    ``file://`` URL; None otherwise."""
    from urllib.parse import unquote, urlparse  # start-up: a paste alone needs it

    text = text.strip()
    if not text or "\n" in text:
        return None
    candidates = [text]
    try:
        words = shlex.split(text)
    except ValueError:
        words = []
    if len(words) == 1:
        candidates.append(words[0])
    for found in list(candidates):
        if found.startswith("file://"):
            candidates.append(unquote(urlparse(found).path))
    for found in candidates:
        path = os.path.expanduser(found)
        if os.path.isfile(path):
            return path
    return None
