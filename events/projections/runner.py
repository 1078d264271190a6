"""Runs projections: catch up from each checkpoint, then follow the log live."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import heapq
import itertools
import logging
import sqlite3
from collections.abc import AsyncGenerator, Callable, Sequence
from pathlib import Path
from typing import Any

from events.db_thread import DbThread
from events.envelope import Event
from events.errors import ProjectionTimeoutError, StoreClosedError
from events.projections.base import Projection, Row, RowProjection, from_cache, remember
from events.store.base import EventStore

log = logging.getLogger(__name__)

_CHECKPOINTS = """
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name     TEXT PRIMARY KEY,
    version  INTEGER NOT NULL,
    position INTEGER NOT NULL
);
"""
_REBUILD_BATCH = 5000
_ROW_CACHE = 20_000
_SET_CHECKPOINT = "UPDATE projection_checkpoints SET position = ? WHERE name = ?"


_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    # The log is the durable copy: a projection transaction lost to a power cut is
    # re-applied from its checkpoint, so the read models need no fsync per commit.
    "PRAGMA synchronous=NORMAL",
    "PRAGMA cache_size=-65536",
    "PRAGMA busy_timeout=5000",
)
_RETRY_DELAY = 1.0

Work = list[tuple[Projection, Sequence[Event], int]]
"""Per projection: its events of a batch, and the position the batch ends at."""


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


def _apply_batch(db: sqlite3.Connection, work: Work) -> dict[str, Exception]:
    """One transaction for every projection's share of a batch, checkpoints included;
    runs on the database's thread. A projection that raises is rolled back to its
    savepoint and returned, so it cannot stop the others."""
    failed: dict[str, Exception] = {}
    isolate = len(work) > 1
    db.execute("BEGIN IMMEDIATE")
    try:
        for projection, events, last in work:
            if isolate:
                db.execute("SAVEPOINT projection")
            try:
                projection.apply(db, events)
                db.execute(_SET_CHECKPOINT, (last, projection.name))
            except Exception as e:
                if not isolate:
                    raise
                db.execute("ROLLBACK TO projection")
                _forget(projection)
                failed[projection.name] = e
            if isolate:
                db.execute("RELEASE projection")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        for projection, _, _ in work:
            _forget(projection)
        raise
    return failed


def _forget(projection: Projection) -> None:
    if isinstance(projection, RowProjection):
        projection.forget()


class ProjectionRunner:
    """Open with `await ProjectionRunner.open(store, path, projections)`, then `start()`."""

    def __init__(self, store: EventStore, db: DbThread, projections: Sequence[Projection]) -> None:
        self._store = store
        self._db = db
        self.projections = {p.name: p for p in projections}
        self._positions: dict[str, int] = {}
        self._persisted: dict[str, int] = {}
        self._advanced = asyncio.Event()
        self._waiters: dict[str | None, list[tuple[int, int, asyncio.Future[None]]]] = {}
        """Read-your-writes waits per projection (None: all), a heap by position."""
        self._waiter_seq = itertools.count()
        self._tasks: set[asyncio.Task[None]] = set()
        self.errors: dict[str, str] = {}

    @classmethod
    async def open(
        cls, store: EventStore, path: str | Path, projections: Sequence[Projection]
    ) -> ProjectionRunner:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await DbThread.open(path, _PRAGMAS)
        await db.executescript(_CHECKPOINTS)
        runner = cls(store, db, projections)
        await runner._prepare()
        return runner

    async def _prepare(self) -> None:
        stored: dict[str, tuple[int, int]] = {
            name: (version, position)
            for name, version, position in await self._db.fetchall(
                "SELECT name, version, position FROM projection_checkpoints"
            )
        }
        for name, projection in self.projections.items():
            version, position = stored.get(name, (projection.version, 0))
            if version != projection.version:
                log.info(
                    "projection %s changed (v%s -> v%s): rebuilding",
                    name,
                    version,
                    projection.version,
                )
                await self._drop(projection)
                position = 0
            await self._db.executescript(projection.schema())
            for index in projection.indexes:
                await self._db.execute(index)
            await self._db.execute(
                "INSERT OR REPLACE INTO projection_checkpoints (name, version, position)"
                " VALUES (?, ?, ?)",
                (name, projection.version, position),
            )
            self._positions[name] = self._persisted[name] = position

    # -- running ----------------------------------------------------------------------

    def start(self) -> None:
        """Follow the log: one follower for every projection, one transaction per batch."""
        self._spawn_follower(list(self.projections.values()))

    async def stop(self) -> None:
        while self._tasks:
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.difference_update(tasks)
        await self._persist_skipped()

    async def close(self) -> None:
        await self.stop()
        await self._db.close()

    def _spawn_follower(self, group: list[Projection], delay: float = 0.0) -> None:
        names = ",".join(p.name for p in group)
        task = asyncio.create_task(self._follow(group, delay), name=f"projections-{names}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _follow(self, group: list[Projection], delay: float) -> None:
        """Apply the log to `group` from the earliest of their positions. A projection
        that fails leaves the group and retries on its own after a delay; a bug in one
        read model must not stop the others, nor the node."""
        await asyncio.sleep(delay)
        while group:
            try:
                start = min(self._positions[p.name] for p in group) + 1
                async for batch in self._store.subscribe_batches(start):
                    failed = await self._apply(group, batch)
                    if failed:
                        for projection in [p for p in group if p.name in failed]:
                            group.remove(projection)
                            self._spawn_follower([projection], _RETRY_DELAY)
                        if not group:
                            return
                return  # the store closed
            except asyncio.CancelledError:
                raise
            except StoreClosedError:
                return
            except Exception as e:
                for projection in group:
                    self.errors[projection.name] = f"{type(e).__name__}: {e}"
                log.exception(
                    "projections %s failed; retrying in %.0f s",
                    ", ".join(p.name for p in group),
                    _RETRY_DELAY,
                )
                await asyncio.sleep(_RETRY_DELAY)

    async def _apply(self, group: Sequence[Projection], batch: Sequence[Event]) -> set[str]:
        """Apply `batch` to each projection of `group` that has not seen it, in one
        database call; returns the names of those that failed."""
        first, last = batch[0].position, batch[-1].position
        work: Work = []
        moved: list[str] = []
        for projection in group:
            name = projection.name
            done = self._positions[name]
            if done >= last:
                continue
            moved.append(name)
            events = batch if done < first else [e for e in batch if e.position > done]
            types = projection.event_types
            relevant = events if types is None else [e for e in events if e.type in types]
            if relevant:
                work.append((projection, relevant, last))
        failed = await self._db.run(_apply_batch, work) if work else {}
        for name, error in failed.items():
            self.errors[name] = f"{type(error).__name__}: {error}"
            log.error(
                "projection %s failed at %d; retrying in %.0f s",
                name,
                first,
                _RETRY_DELAY,
                exc_info=error,
            )
        for projection, _, _ in work:
            if projection.name not in failed:
                self._persisted[projection.name] = last
        for name in moved:
            if name not in failed:
                # A batch with nothing for a projection moves only its in-memory position:
                # re-reading such events after a crash changes nothing.
                self._positions[name] = last
                self.errors.pop(name, None)
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()
        self._wake_waiters()
        return set(failed)

    def _wake_waiters(self) -> None:
        """Resolve the waits whose position has been reached, and only those: with many
        requests waiting, waking every one on every batch cost more than the batches."""
        for name, heap in self._waiters.items():
            if not heap:
                continue
            reached = self.position(name)
            while heap and heap[0][0] <= reached:
                waiter = heapq.heappop(heap)[2]
                if not waiter.done():
                    waiter.set_result(None)

    async def _persist_skipped(self) -> None:
        for name, position in self._positions.items():
            if position != self._persisted.get(name):
                await self._db.execute(
                    "UPDATE projection_checkpoints SET position = ? WHERE name = ?",
                    (position, name),
                )
                self._persisted[name] = position

    # -- read-your-writes -------------------------------------------------------------

    def position(self, name: str | None = None) -> int:
        """How far `name` (or the slowest projection) has applied the log."""
        if name is not None:
            return self._positions[name]
        return min(self._positions.values(), default=0)

    async def wait_for(self, position: int, timeout: float = 5.0, name: str | None = None) -> None:
        """Return once `name` (or every projection) has applied `position`."""
        if self.position(name) >= position:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(
            self._waiters.setdefault(name, []), (position, next(self._waiter_seq), waiter)
        )
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            raise ProjectionTimeoutError(
                name or "all", position, self.position(name), timeout
            ) from None

    # -- rebuilding -------------------------------------------------------------------

    async def rebuild(
        self,
        names: Sequence[str] | None = None,
        until: int | None = None,
        progress: Callable[[int], Any] | None = None,
    ) -> int:
        """Drop and refold projections from position 1 (to `until`); returns events read.

        Call it with the runner stopped; `start()` afterwards follows on from there.
        """
        chosen = [self.projections[n] for n in names] if names else list(self.projections.values())
        for projection in chosen:
            _forget(projection)
            await self._drop(projection)
            await self._db.executescript(projection.schema())
            self._positions[projection.name] = 0
        # A rebuild makes and drops millions of objects none of which form cycles; the
        # collector's passes over them cost as much as the decoding.
        collecting = gc.isenabled()
        gc.disable()
        try:
            replay = getattr(self._store, "replay", None)
            if replay is not None:
                read = await self._rebuild_fast(chosen, until, progress, replay)
            else:
                read = await self._rebuild_slow(chosen, until, progress)
        finally:
            if collecting:
                gc.enable()
        for projection in chosen:
            for index in projection.indexes:
                await self._db.execute(index)
        await self._persist_skipped()
        return read

    async def _rebuild_slow(
        self, chosen: list[Projection], until: int | None, progress: Callable[[int], Any] | None
    ) -> int:
        read, position = 0, 1
        reading = asyncio.create_task(self._read_upto(position, until))
        while batch := await reading:
            position = batch[-1].position + 1
            # Read the next batch while this one is folded and written.
            reading = asyncio.create_task(self._read_upto(position, until))
            await self._apply_or_raise(chosen, batch)
            read += len(batch)
            if progress is not None:
                progress(len(batch))
        return read

    async def _rebuild_fast(
        self,
        chosen: list[Projection],
        until: int | None,
        progress: Callable[[int], Any] | None,
        replay: Callable[..., AsyncGenerator[tuple[int, list[Event]], None]],
    ) -> int:
        """Three stages at once: the store's thread reads batch n+1, this thread folds
        batch n in memory, the database's thread commits batch n-1 with every
        projection's checkpoint. Row projections keep the rows of recent batches, so a
        row is read back from the database only when its last change is long past."""
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
            async with contextlib.aclosing(replay(1, until, wanted, _REBUILD_BATCH)) as batches:
                async for last, events in batches:
                    statements: list[tuple[str, Any]] = []
                    for projection in rowed:
                        types = projection.event_types
                        relevant = (
                            events if types is None else [e for e in events if e.type in types]
                        )
                        keyed, keys, created = projection.keyed(relevant)
                        cache = caches[projection.name]
                        rows, missing = from_cache(cache, keys - created)
                        if missing:  # written by an earlier batch: let that commit first
                            if writing is not None:
                                await writing
                                writing = None
                            rows.update(await self._db.run(projection.load_rows, missing))
                        changed = projection.fold_all(rows, keyed, keys)
                        statements += projection.writes(changed)
                        remember(cache, changed, _ROW_CACHE)
                    for projection in rowed:
                        statements.append((_SET_CHECKPOINT, (last, projection.name)))
                    if writing is not None:
                        await writing
                    writing = asyncio.ensure_future(self._db.run(_write, statements))
                    if others and events:
                        await self._apply_or_raise(others, events)
                    for projection in chosen:
                        self._positions[projection.name] = last
                    read += last - previous
                    if progress is not None:
                        progress(last - previous)
                    previous = last
            if writing is not None:
                await writing
                writing = None
            for projection in rowed:
                self._persisted[projection.name] = previous
        finally:
            if writing is not None:
                await asyncio.gather(writing, return_exceptions=True)
        return read

    async def _apply_or_raise(self, group: Sequence[Projection], batch: Sequence[Event]) -> None:
        failed = await self._apply(group, batch)
        if failed:
            names = ", ".join(sorted(failed))
            raise RuntimeError(f"projections {names} failed: {self.errors[min(failed)]}")

    async def _read_upto(self, position: int, until: int | None) -> list[Event]:
        limit = _REBUILD_BATCH if until is None else min(_REBUILD_BATCH, until - position + 1)
        return await self._store.read_all(position, limit) if limit > 0 else []

    async def _drop(self, projection: Projection) -> None:
        for table in projection.tables:
            try:
                await self._db.execute(f"DROP TABLE IF EXISTS {table}")
            except sqlite3.Error as e:
                raise RuntimeError(f"cannot drop {table} of {projection.name}: {e}") from e
        await self._db.execute(
            "UPDATE projection_checkpoints SET position = 0, version = ? WHERE name = ?",
            (projection.version, projection.name),
        )
