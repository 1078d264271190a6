"""Refolding projections from the whole log, as fast as the disk allows.

Three stages run at once: the store's thread reads batch n+1, the event loop folds
batch n in memory, the database's thread commits batch n-1 with every projection's
checkpoint. Row projections keep the rows of recent batches, so a row is read back from
the database only when its last change is long past.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

from events.db_thread import DbThread
from events.envelope import Event
from events.projections.base import Projection, Row, RowProjection, from_cache, remember
from events.store.base import EventStore

SET_CHECKPOINT = "UPDATE projection_checkpoints SET position = ? WHERE name = ?"
_BATCH = 5000
_ROW_CACHE = 20_000

ApplyEvents = Callable[[Sequence[Projection], Sequence[Event]], Awaitable[None]]


def _write(db: sqlite3.Connection, statements: list[tuple[str, Any]]) -> None:
    """One transaction: a rebuild batch's rows and checkpoints."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for sql, params in statements:
            db.execute(sql, params)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """A rebuild makes and drops millions of objects none of which form cycles; the
    collector's passes over them cost as much as the decoding."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


async def refold(
    store: EventStore,
    db: DbThread,
    chosen: Sequence[Projection],
    until: int | None,
    progress: Callable[[int], Any] | None,
    apply: ApplyEvents,
    reached: Callable[[int], None],
) -> tuple[int, int]:
    """Fold the log (to `until`) into `chosen`, whose tables are empty; returns (events
    read, the last position folded). Row projections are folded here and written with
    their checkpoints; the others go through `apply`, the runner's live path. `reached`
    hears each batch's last position."""
    with _collector_paused():
        return await _refold(store, db, chosen, until, progress, apply, reached)


async def _refold(
    store: EventStore,
    db: DbThread,
    chosen: Sequence[Projection],
    until: int | None,
    progress: Callable[[int], Any] | None,
    apply: ApplyEvents,
    reached: Callable[[int], None],
) -> tuple[int, int]:
    rowed = [p for p in chosen if isinstance(p, RowProjection)]
    others = [p for p in chosen if not isinstance(p, RowProjection)]
    wanted: set[str] | None = set()
    for projection in chosen:
        if projection.event_types is None or wanted is None:
            wanted = None
        else:
            wanted |= projection.event_types
    writing: asyncio.Future[None] | None = None
    caches: dict[str, dict[str, Row | None]] = {p.name: {} for p in rowed}
    read, previous = 0, 0
    try:
        async with contextlib.aclosing(store.replay(1, until, wanted, _BATCH)) as batches:
            async for last, events in batches:
                statements: list[tuple[str, Any]] = []
                for projection in rowed:
                    types = projection.event_types
                    relevant = events if types is None else [e for e in events if e.type in types]
                    keyed, keys, created = projection.keyed(relevant)
                    cache = caches[projection.name]
                    rows, missing = from_cache(cache, keys - created)
                    if missing:  # written by an earlier batch: let that commit first
                        if writing is not None:
                            await writing
                            writing = None
                        rows.update(await db.run(projection.load_rows, missing))
                    changed = projection.fold_all(rows, keyed, keys)
                    statements += projection.writes(changed)
                    remember(cache, changed, _ROW_CACHE)
                for projection in rowed:
                    statements.append((SET_CHECKPOINT, (last, projection.name)))
                if writing is not None:
                    await writing
                writing = asyncio.ensure_future(db.run(_write, statements))
                if others and events:
                    await apply(others, events)
                reached(last)
                read += last - previous
                if progress is not None:
                    progress(last - previous)
                previous = last
        if writing is not None:
            await writing
            writing = None
    finally:
        if writing is not None:
            await asyncio.gather(writing, return_exceptions=True)
    return read, previous
