"""Model output is untrusted: no control character reaches the terminal raw,
and nothing can reorder what is shown around it."""

from __future__ import annotations

import re
from collections.abc import Iterable

# C0 controls except tab and newline, DEL, and the C1 controls (which include
# the 8-bit CSI/OSC introducers): shown as visible replacements or dropped.
_TABLE: dict[int, str | None] = {
    c: None for c in (*range(0x00, 0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0))
}
_TABLE[0x1B] = "␛"
_TABLE[0x0D] = None
# The bidi embedding, override and isolate controls (the "Trojan Source" set:
# U+202A-U+202E, U+2066-U+2069) can make text read differently from what it
# is; they are shown by name instead, e.g. ⟦U+202E⟧.
BIDI_CONTROLS = tuple(chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A)))
_TABLE.update({ord(c): f"⟦U+{ord(c):04X}⟧" for c in BIDI_CONTROLS})


def clean(text: str) -> str:
    """``text`` with every terminal control character removed (ESC shown as ␛,
    bidi controls as ⟦U+202E⟧)."""
    # every character it changes is one ``isprintable`` refuses (Cc, Cf): a
    # printable text (most table cells, names, models) is left as it is
    return text if text.isprintable() else text.translate(_TABLE)


def one_line(text: str, limit: int = 0) -> str:
    """``text`` cleaned and on one line, cut at ``limit`` characters (0: no cut)."""
    text = " ".join(clean(text).split())
    return text[:limit] + "…" if limit and len(text) > limit else text


def short_error(exc: BaseException) -> str:
    """An exception as one short line (its type if it says nothing)."""
    return one_line(str(exc), 300) or type(exc).__name__


# -- secrets ---------------------------------------------------------------------
REDACTED = "[redacted]"
# ``scheme://user:pass@host``: everything between ``//`` and the last ``@``
# before the host's end.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s?#'\"<>]*@")
# ``Authorization: Bearer X`` / ``Basic X`` / ``Token X``, also inside b'...'.
_SCHEME_TOKEN = re.compile(
    r"\b((?i:bearer)\s+|(?:Basic|Token)\s+(?=[A-Za-z0-9._~+/=-]{12,}))[^\s'\",;]+"
)
# Vendors' key formats: keep the prefix so the user can tell which key it was.
_PREFIXED = re.compile(
    r"\b(sk-(?:proj-|ant-|or-v1-)?|gh[pousr]_|github_pat_|glpat-|xox[abprs]-|hf_|AIza|r8_|gsk_)"
    r"[A-Za-z0-9_\-]{8,}"
)
# ``?api_key=X`` and friends in a URL or a form.
_SECRET_PARAM = re.compile(
    r"(?i)\b((?:api[_-]?key|access[_-]?token|token|secret|password|passwd|sig|key)=)"
    r"[^&\s'\"#]+"
)
# A long run of letters and digits with both in it (Azure-style hex keys, JWT
# parts): key-shaped even without a known prefix.
_LONG_TOKEN = re.compile(r"\b(?=[A-Za-z0-9]*\d)(?=[A-Za-z0-9]*[A-Za-z])[A-Za-z0-9]{32,}\b")
_MIN_SECRET = 4  # shorter "secrets" would blank out ordinary words


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every key-shaped value (vendor key formats, bearer tokens,
    secret URL parameters, long letter-and-digit runs), URL userinfo, and each
    of ``secrets`` (exact, also without surrounding whitespace) replaced: for
    every message that may quote a URL, a header or a server's words."""
    for secret in secrets:
        for form in {secret, secret.strip()}:
            if len(form) >= _MIN_SECRET:
                text = text.replace(form, REDACTED)
    text = _USERINFO.sub(rf"\1{REDACTED}@", text)
    text = _SCHEME_TOKEN.sub(rf"\1{REDACTED}", text)
    text = _PREFIXED.sub(rf"\1{REDACTED}", text)
    text = _SECRET_PARAM.sub(rf"\1{REDACTED}", text)
    return _LONG_TOKEN.sub(REDACTED, text)
