"""Walk the log and check the hash chain; name the first position that breaks it.

A periodic check need not hash the whole log again: `after` resumes from an event an
earlier walk verified (its position and hash, the result's `anchor`), so it costs only
the events since. It first reads that event's stored hash again: a log rewritten before
it with every later hash recomputed shows there. Bytes changed before the anchor
without touching the hashes are found only by a walk from position 1.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from hashlib import sha256
from pathlib import Path
from typing import Any

import msgspec

from events.store.base import EventStore
from events.store.chain import GENESIS, canonical_bytes
from events.store.sqlite import SQLiteEventStore

_BATCH = 10_000

Anchor = tuple[int, str]
"""(position, hash in hex) of an event a walk verified."""


class VerifyResult(msgspec.Struct, frozen=True, kw_only=True):
    ok: bool
    checked: int
    head: int
    first_bad_position: int | None = None
    reason: str | None = None
    anchor: Anchor | None = None
    """The last event that checked out, to resume from (`verify_log(after=...)`); None
    when none did, or when the anchor given was itself found changed."""


async def verify_log(
    store: EventStore,
    progress: Callable[[int], Any] | None = None,
    after: Anchor | None = None,
) -> VerifyResult:
    """Check the chain from position 1, or only the events after `after`."""
    previous, expected, checked = GENESIS, 1, 0
    if after is not None:
        position, digest = after
        rows = await store.read_rows(position, 1)
        if not rows or rows[0][0] != position or rows[0][-1] != digest:
            return VerifyResult(
                ok=False,
                checked=0,
                head=position,
                first_bad_position=position,
                reason="the stored hash differs from the one verified before",
            )
        previous, expected = bytes.fromhex(digest), position + 1
    while True:
        rows = await store.read_rows(expected, _BATCH)
        if not rows:
            return VerifyResult(
                ok=True, checked=checked, head=expected - 1, anchor=_anchor(expected, previous)
            )
        for position, event_id, stream, version, type_name, schema, ts, data, meta, digest in rows:
            if position != expected:
                return _broken(
                    checked,
                    rows[-1][0],
                    expected,
                    f"position {expected} is missing (next stored is {position})",
                    previous,
                )
            if not isinstance(data, bytes) or not isinstance(meta, bytes):
                return _broken(
                    checked, rows[-1][0], position, "data or meta is not a blob", previous
                )
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
                    previous,
                )
            previous, expected, checked = computed, expected + 1, checked + 1
        if progress is not None:
            progress(len(rows))


async def verify_file(events_db: str | Path, after: Anchor | None = None) -> VerifyResult:
    """`verify_log` over a read-only connection of its own to the log at `events_db`:
    safe beside the node writing it, and (run in a worker thread) off the node's loop."""
    store = await SQLiteEventStore.open_readonly(events_db)
    try:
        return await verify_log(store, after=after)
    finally:
        await store.close()


def verify_path(events_db: str | Path, after: Anchor | None = None) -> VerifyResult:
    """`verify_file` on a loop of its own: for a worker process or thread to call."""
    return asyncio.run(verify_file(events_db, after))


def _anchor(expected: int, previous: bytes) -> Anchor | None:
    """The event before `expected`, which checked out with hash `previous`."""
    return (expected - 1, previous.hex()) if expected > 1 else None


def _broken(checked: int, head: int, position: int, reason: str, previous: bytes) -> VerifyResult:
    return VerifyResult(
        ok=False,
        checked=checked,
        head=head,
        first_bad_position=position,
        reason=reason,
        anchor=_anchor(position, previous),
    )
