"""Event ids: version-4 UUIDs, as ``uuid.uuid4()`` makes them (122 bits from
``os.urandom``, the version and variant bits set), at a third of the cost.

``uuid4()`` asks the kernel for 16 bytes and builds a ``UUID`` through its
checking constructor for every event: 3.3 µs, half of what a streamed
delta's event costs. Here the random bytes are drawn 256 ids at a time and
each ``UUID`` is made directly (0.9 µs). A program sees the same thing:
random, unique ids of version 4 and the RFC 4122 variant, equal to their
``str`` parsed back. A forked child draws its own bytes (the pool is emptied
at fork), so parent and child never share an id.
"""

from __future__ import annotations

import os
import uuid

BATCH = 256  # ids per draw from os.urandom
_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)  # version 4, variant RFC 4122
_KEEP = ((1 << 128) - 1) & ~((0xF000 << 64) | (0xC000 << 48))  # the random bits
_pool: list[int] = []


def new_id() -> uuid.UUID:
    """A new random version-4 UUID (what ``uuid.uuid4()`` returns)."""
    try:
        value = _pool.pop()
    except IndexError:
        value = _refill()
    u = object.__new__(uuid.UUID)
    object.__setattr__(u, "int", value)  # as UUID.__init__ does: it is immutable
    object.__setattr__(u, "is_safe", uuid.SafeUUID.unknown)
    return u


def _refill() -> int:
    raw = os.urandom(16 * BATCH)
    ints = [
        (int.from_bytes(raw[i : i + 16], "big") & _KEEP) | _VERSION_4
        for i in range(0, len(raw), 16)
    ]
    _pool.extend(ints[1:])
    return ints[0]


os.register_at_fork(after_in_child=_pool.clear)
