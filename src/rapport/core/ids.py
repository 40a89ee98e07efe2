"""Record ids: UUID version 7 (RFC 9562), so ids are time-ordered.

A UUIDv4 lands on a random page of every index keyed by id (the primary key, the search
entries, audit entries, tag and timeline links of the record). At a million people that made
each import chunk rewrite a random page of each of those trees; ids that grow with time append
to the same few pages instead (a 30,000-row import into a million-people SQLite workspace: 1,635
→ 3,127 rows/s). The ids stay UUID strings. They are not secrets, as before: every read
checks the workspace and access, and tokens and public links have secrets of their own. The
first 48 bits are the creation time in ms, which every record shows anyway.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0

_COUNTER_BITS = 42  # rand_a (12) and the top of rand_b (30): a counter within one millisecond
_COUNTER_MAX = (1 << _COUNTER_BITS) - 1


def _next() -> tuple[int, int]:
    """(milliseconds, counter), strictly increasing within the process. Within one millisecond
    the counter goes up from a random start (top bit clear, so it has room); if it ever ran out,
    the time part moves on by a millisecond instead."""
    global _last_ms, _counter
    now = time.time_ns() // 1_000_000
    with _lock:
        if now > _last_ms:
            _last_ms, _counter = now, int.from_bytes(os.urandom(6)) >> 7  # 41 random bits
        elif _counter < _COUNTER_MAX:
            _counter += 1
        else:
            _last_ms, _counter = _last_ms + 1, int.from_bytes(os.urandom(6)) >> 7
        return _last_ms, _counter


def new_id() -> uuid.UUID:
    """A new record id: 48 bits of Unix time in ms, the version, a 42-bit counter, 32 random
    bits (RFC 9562, section 6.2, method 1; Python 3.14's ``uuid.uuid7`` has the same layout)."""
    ms, counter = _next()
    value = (ms & 0xFFFF_FFFF_FFFF) << 80
    value |= 0x7 << 76  # version
    value |= (counter >> 30) << 64  # rand_a: the counter's top 12 bits
    value |= 0b10 << 62  # variant
    value |= (counter & 0x3FFF_FFFF) << 32
    value |= int.from_bytes(os.urandom(4))
    return uuid.UUID(int=value)
