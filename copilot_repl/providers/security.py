"""Transport security shared by every provider: an API key never goes over
plain http to another machine unless the user allowed it."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from copilot_repl.errors import InsecureTransport, UsageError


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_transport_security(url: str, has_key: bool, allow_insecure: bool) -> None:
    """Refuse to send a key in clear text to another machine."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise UsageError(f"base URL {url!r} must start with http:// or https://")
    host = parts.hostname or ""
    if parts.scheme == "http" and has_key and not allow_insecure and not is_loopback(host):
        raise InsecureTransport(host)
