"""Pure parsing of input lines and command arguments."""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
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
    if body.endswith(" &") or body == "&":
        return Line("prompt", args=body[:-1].rstrip(), background=True)
    return Line("prompt", args=text.strip())


@dataclass
class Args:
    positional: list[str] = field(default_factory=list)
    flags: dict[str, str] = field(default_factory=dict)


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
) -> Args:
    """Split ``text`` into positionals and ``--flag VALUE`` options.

    ``flags`` maps accepted flags (and short aliases) to their canonical name.
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
    import difflib

    prefixed = sorted((c for c in choices if c.startswith(word)), key=len) if word else []
    if prefixed:
        return prefixed[0]  # ":hist" means :history, however close :list looks
    found = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return found[0] if found else None


def split_names(text: str) -> list[str]:
    """``a,b c`` -> ["a", "b", "c"]"""
    return [n for part in text.replace(",", " ").split() for n in [part.strip()] if n]
