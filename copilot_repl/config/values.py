"""Checks of one value: a base URL, a number in its range, request params
(sent as JSON), and ``-o KEY=VALUE``. Each returns what is wrong ("" if
nothing) or raises one line."""

from __future__ import annotations

import json
import math
from typing import Any
from urllib.parse import urlsplit

from copilot_repl.config.file import type_name
from copilot_repl.config.settings import RANGES, URL_KEYS
from copilot_repl.errors import UsageError
from copilot_repl.sanitize import redact

# What copilot-repl itself sets in a request: params cannot change it.
_RESERVED_PARAMS = ("model", "messages", "stream", "stream_options")
_MAX_DEPTH = 32


def url_problem(url: str) -> str:
    """What is wrong with ``url`` as a base URL ("" if nothing)."""
    if any(c.isspace() or not c.isprintable() for c in url):
        return "contains a space or a control character"
    try:
        parts = urlsplit(url)
        port = parts.port
        host = parts.hostname
    except ValueError as exc:
        return f"is not a valid URL ({str(exc).lower()})"
    if parts.scheme not in ("http", "https"):
        return "must start with http:// or https://"
    if not host:
        return "has no host name"
    if port == 0:
        return "has port 0 (a port is 1 to 65535)"
    return ""


def value_problem(key: str, value: Any) -> str:
    """What is wrong with a provider setting of the right type ("" if nothing)."""
    if key in RANGES:
        rng = RANGES[key]
        above = value > rng.low if rng.above else value >= rng.low
        if not (math.isfinite(value) and above and value <= rng.high):
            bound = f"above {rng.low:g}" if rng.above else f"at least {rng.low:g}"
            return (
                f"{key} = {value!r}: expected a number {bound} and at most {rng.high:g} "
                f"(e.g. {key} = {rng.example:.15g})"
            )
    if key in URL_KEYS and value:
        problem = url_problem(value)
        if problem:
            shown = redact(value)
            return f'{key} {shown!r} {problem} (e.g. {key} = "https://host:8080/v1")'
    if key == "params":
        return params_problem(value)
    return ""


def params_problem(params: dict[str, Any]) -> str:
    """What keeps ``params`` from being sent with a request ("" if nothing)."""
    for key in _RESERVED_PARAMS:
        if key in params:
            return f"params cannot set {key!r} (copilot-repl sets it)"
    bad = _json_problem(params, "params", 0)
    return (
        f"{bad}: params are sent as JSON (strings, numbers, true/false, arrays, tables)"
        if bad
        else ""
    )


def _json_problem(value: Any, where: str, depth: int) -> str:
    """The first part of ``value`` that cannot be sent as JSON ("" if none)."""
    if depth > _MAX_DEPTH:
        return f"{where} is nested too deep"
    if isinstance(value, dict):
        for k, v in value.items():
            problem = _json_problem(v, f"{where}.{k}", depth + 1)
            if problem:
                return problem
        return ""
    if isinstance(value, list):
        for i, v in enumerate(value):
            problem = _json_problem(v, f"{where}[{i}]", depth + 1)
            if problem:
                return problem
        return ""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where} = {value!r} is not a finite number"
    if isinstance(value, str | int | float | bool):
        return ""
    return f"{where} is {type_name(value)}"


def request_option(text: str) -> tuple[str, Any]:
    """``-o KEY=VALUE`` as llm spells it: VALUE read as JSON when it is
    (``0.2``, ``400``, ``true``, ``[1, 2]``), else as a string."""
    key, eq, value = text.partition("=")
    key = key.strip()
    if not eq or not key:
        raise UsageError(
            f"-o takes KEY=VALUE or KEY VALUE (e.g. -o temperature=0.2), not {text!r} alone"
        )
    try:
        parsed: Any = json.loads(value)
    except ValueError:
        parsed = value
    problem = params_problem({key: parsed})
    if problem:
        raise UsageError(f"-o {text}: {problem}")
    return key, parsed
