"""Sortable unique ids (ULID layout: 48-bit milliseconds + 80 bits, Crockford base32).

Ids made by one process sort in the order they were made, also within one
millisecond, because the random part is incremented rather than redrawn.
"""

from __future__ import annotations

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_RANDOM_BITS = 80
_RANDOM_MAX = (1 << _RANDOM_BITS) - 1


# Two base32 characters per 10 bits: a table lookup instead of 26 shifts.
_PAIRS = tuple(_ALPHABET[i >> 5] + _ALPHABET[i & 31] for i in range(1024))


def _base32(value: int, chars: int) -> str:
    shifts = range((chars // 2 - 1) * 10, -1, -10)
    return "".join([_PAIRS[(value >> shift) & 1023] for shift in shifts])


def _base32_80(v: int) -> str:
    """16 characters for 80 bits, unrolled: ids are made on the append hot path."""
    p = _PAIRS
    return (
        p[(v >> 70) & 1023]
        + p[(v >> 60) & 1023]
        + p[(v >> 50) & 1023]
        + p[(v >> 40) & 1023]
        + p[(v >> 30) & 1023]
        + p[(v >> 20) & 1023]
        + p[(v >> 10) & 1023]
        + p[v & 1023]
    )


class _UlidGenerator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = -1
        self._last_rand = 0
        self._prefix = ""
        # A new millisecond draws 80 random bits; reading them from the OS one id at a time
        # was a getrandom() system call per id. A forked child must not reuse the pool.
        self._pool, self._at = b"", 0
        os.register_at_fork(after_in_child=self._forget_pool)

    def _forget_pool(self) -> None:
        self._pool, self._at = b"", 0

    def _random(self) -> int:
        """80 random bits with the top one clear (called under the lock)."""
        at = self._at
        if at + 10 > len(self._pool):
            self._pool, at = os.urandom(4000), 0
        self._at = at + 10
        return int.from_bytes(self._pool[at : at + 10], "big") >> 1

    def new(self) -> str:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms <= self._last_ms:
                rand = self._last_rand + 1
                if rand > _RANDOM_MAX:  # 2**79 ids in one ms: borrow the next ms
                    ms = self._last_ms + 1
                    rand = self._random()
                else:
                    ms = self._last_ms
            else:
                # The top bit stays clear so increments within one ms never overflow.
                rand = self._random()
            if ms != self._last_ms:
                self._prefix = _base32(ms, 10)
            self._last_ms, self._last_rand = ms, rand
            return self._prefix + _base32_80(rand)

    def many(self, count: int) -> list[str]:
        """`count` consecutive ids under one lock and one clock read."""
        with self._lock:
            ms = max(time.time_ns() // 1_000_000, self._last_ms)
            if ms != self._last_ms:
                rand = self._random()
                self._prefix = _base32(ms, 10)
            else:
                rand = self._last_rand + 1
            if rand + count > _RANDOM_MAX:
                ms += 1
                rand = self._random()
                self._prefix = _base32(ms, 10)
            self._last_ms, self._last_rand = ms, rand + count - 1
            prefix = self._prefix
            return [prefix + _base32_80(r) for r in range(rand, rand + count)]


_generator = _UlidGenerator()


def new_id() -> str:
    """A 26-character id, unique and increasing within this process."""
    return _generator.new()


def new_ids(count: int) -> list[str]:
    """`count` ids in increasing order, cheaper than `count` calls to new_id."""
    return _generator.many(count)


def new_prefixed_id(prefix: str) -> str:
    """`prefix-<ulid>` lowercased, e.g. ``task-01jd...``: readable, sortable, unique."""
    return f"{prefix}-{_generator.new().lower()}"
