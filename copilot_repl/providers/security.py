"""Secrets and transport security shared by every provider.

- An API key never goes over plain http to another machine unless the user
  allowed it (``check_transport_security``).
- A key is checked before it is put in a header (``check_api_key``): a key
  read from a CRLF file or pasted with a zero-width space is named, by its
  variable, in one line; it is never echoed back.
- No error message carries a secret (``sanitize.redact``, used where
  provider errors are built).
"""

from __future__ import annotations

import ipaddress
import unicodedata
from urllib.parse import urlsplit

from copilot_repl.errors import AuthError, InsecureTransport, UsageError
from copilot_repl.sanitize import redact

__all__ = ["check_api_key", "check_transport_security", "is_loopback", "redact"]


def check_api_key(env_name: str, value: str) -> None:
    """Refuse a key that cannot go in an HTTP header as it is: one line naming
    the variable and the offending character (never the key)."""
    for index, char in enumerate(value):
        problem = _key_char_problem(char)
        if problem:
            code = f"U+{ord(char):04X}"
            name = unicodedata.name(char, "")
            what = f"{code} {name}" if name else code
            hint = " (read from a file with CRLF line endings?)" if char in "\r\n" else ""
            raise AuthError(
                f"{env_name or 'the API key'} contains {problem} ({what}, character "
                f"{index + 1} of {len(value)}){hint}; set it again without it"
            )


def _key_char_problem(char: str) -> str:
    category = unicodedata.category(char)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn"):
        return "a control character"
    if category.startswith("Z"):
        return "a space"
    if not char.isascii():
        return "a non-ASCII character"
    return ""


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_transport_security(url: str, has_key: bool, allow_insecure: bool) -> None:
    """Refuse to send a key in clear text to another machine."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        raise UsageError(f"base URL {redact(url)!r} is not a valid URL") from None
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"base URL {redact(url)!r} must start with http:// or https://")
    if parts.scheme == "http" and has_key and not allow_insecure and not is_loopback(host):
        raise InsecureTransport(host)
