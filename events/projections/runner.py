"""Runs projections: catch up from each checkpoint, then follow the log live.

Read-your-writes waits are in `waiters`, the refold from the whole log in `rebuild`.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from events.db_thread import DbThread
from events.envelope import Event
from events.errors import ProjectionError, StoreClosedError
from events.projections.base import Projection, RowProjection
from events.projections.rebuild import SET_CHECKPOINT, refold
from events.projections.waiters import PositionWaiters
from events.store.base import EventStore

log = logging.getLogger(__name__)

_CHECKPOINTS = """
CREATE TABLE IF NOT EXISTS projection_checkpoints (
    name     TEXT PRIMARY KEY,
    version  INTEGER NOT NULL,
    position INTEGER NOT NULL
);
"""


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
                db.execute(SET_CHECKPOINT, (last, projection.name))
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
        self._waiters = PositionWaiters(self.position)
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
        self._waiters.wake()
        return set(failed)

    async def _persist_skipped(self) -> None:
        for name, position in self._positions.items():
            if position != self._persisted.get(name):
                await self._db.execute(SET_CHECKPOINT, (position, name))
                self._persisted[name] = position

    # -- read-your-writes -------------------------------------------------------------

    def position(self, name: str | None = None) -> int:
        """How far `name` (or the slowest projection) has applied the log."""
        if name is not None:
            return self._positions[name]
        return min(self._positions.values(), default=0)

    async def wait_for(self, position: int, timeout: float = 5.0, name: str | None = None) -> None:
        """Return once `name` (or every projection) has applied `position`."""
        await self._waiters.wait_for(position, timeout, name)

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

        def reached(last: int) -> None:
            for projection in chosen:
                self._positions[projection.name] = last

        read, last = await refold(
            self._store, self._db, chosen, until, progress, self._apply_or_raise, reached
        )
        for projection in chosen:
            if isinstance(projection, RowProjection):
                self._persisted[projection.name] = last  # written with its rows
            for index in projection.indexes:
                await self._db.execute(index)
        await self._persist_skipped()
        return read

    async def _apply_or_raise(self, group: Sequence[Projection], batch: Sequence[Event]) -> None:
        failed = await self._apply(group, batch)
        if failed:
            names = ", ".join(sorted(failed))
            raise ProjectionError(names, f"failed: {self.errors[min(failed)]}")

    async def _drop(self, projection: Projection) -> None:
        for table in projection.tables:
            try:
                await self._db.execute(f"DROP TABLE IF EXISTS {table}")
            except sqlite3.Error as e:
                raise ProjectionError(projection.name, f"cannot drop {table}: {e}") from e
        await self._db.execute(
            "UPDATE projection_checkpoints SET position = 0, version = ? WHERE name = ?",
            (projection.version, projection.name),
        )
