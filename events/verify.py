"""Walk the log and check the hash chain; name the first position that breaks it."""

from __future__ import annotations

from collections.abc import Callable
from hashlib import sha256
from typing import Any

import msgspec

from events.store.base import EventStore
from events.store.chain import GENESIS, canonical_bytes

_BATCH = 10_000


class VerifyResult(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    checked: int
    head: int
    first_bad_position: int | None = None
    reason: str | None = None


async def verify_log(
    store: EventStore, progress: Callable[[int], Any] | None = None
) -> VerifyResult:
    previous, expected, checked = GENESIS, 1, 0
    while True:
        rows = await store.read_rows(expected, _BATCH)
        if not rows:
            return VerifyResult(ok=True, checked=checked, head=expected - 1)
        for position, event_id, stream, version, type_name, schema, ts, data, meta, digest in rows:
            if position != expected:
                return VerifyResult(
                    ok=False,
                    checked=checked,
                    head=rows[-1][0],
                    first_bad_position=expected,
                    reason=f"position {expected} is missing (next stored is {position})",
                )
            if not isinstance(data, bytes) or not isinstance(meta, bytes):
                return _broken(checked, rows[-1][0], position, "data or meta is not a blob")
            computed = sha256(
                previous
                + canonical_bytes(
                    position, event_id, stream, version, type_name, schema, ts, data, meta
                )
            ).digest()
            if computed.hex() != digest:
                return _broken(
                    checked,
                    rows[-1][0],
                    position,
                    "stored hash does not match the event's bytes and the previous hash",
                )
            previous, expected, checked = computed, expected + 1, checked + 1
        if progress is not None:
            progress(len(rows))


def _broken(checked: int, head: int, position: int, reason: str) -> VerifyResult:
    return VerifyResult(
        ok=False, checked=checked, head=head, first_bad_position=position, reason=reason
    )
