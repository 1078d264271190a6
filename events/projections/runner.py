"""Runs projections: catch up from each checkpoint, then follow the log live."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import aiosqlite

from events.envelope import Event
from events.errors import ProjectionTimeoutError, StoreClosedError
from events.projections.base import Projection
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
_RETRY_DELAY = 1.0


class ProjectionRunner:
    """Open with `await ProjectionRunner.open(store, path, projections)`, then `start()`."""

    def __init__(
        self, store: EventStore, db: aiosqlite.Connection, projections: Sequence[Projection]
    ) -> None:
        self._store = store
        self._db = db
        self.projections = {p.name: p for p in projections}
        self._positions: dict[str, int] = {}
        self._persisted: dict[str, int] = {}
        self._advanced = asyncio.Event()
        self._tx_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        self.errors: dict[str, str] = {}

    @classmethod
    async def open(
        cls, store: EventStore, path: str | Path, projections: Sequence[Projection]
    ) -> ProjectionRunner:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(path, isolation_level=None)
        # The log is the durable copy: a projection transaction lost to a power cut is
        # re-applied from its checkpoint, so the read models need no fsync per commit.
        for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL",
                       "PRAGMA cache_size=-65536", "PRAGMA busy_timeout=5000"):
            await db.execute(pragma)
        await db.executescript(_CHECKPOINTS)
        runner = cls(store, db, projections)
        await runner._prepare()
        return runner

    async def _prepare(self) -> None:
        stored: dict[str, tuple[int, int]] = {
            name: (version, position)
            for name, version, position in await self._db.execute_fetchall(
                "SELECT name, version, position FROM projection_checkpoints"
            )
        }
        for name, projection in self.projections.items():
            version, position = stored.get(name, (projection.version, 0))
            if version != projection.version:
                log.info("projection %s changed (v%s -> v%s): rebuilding", name, version,
                         projection.version)
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
        for projection in self.projections.values():
            self._tasks.append(
                asyncio.create_task(self._follow(projection), name=f"projection-{projection.name}")
            )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await self._persist_skipped()

    async def close(self) -> None:
        await self.stop()
        await self._db.close()

    async def _follow(self, projection: Projection) -> None:
        while True:
            try:
                start = self._positions[projection.name] + 1
                async for batch in self._store.subscribe_batches(start):
                    await self._apply(projection, batch)
                return  # the store closed
            except asyncio.CancelledError:
                raise
            except StoreClosedError:
                return
            except Exception as e:  # a projection bug must not stop the node; say so, retry
                self.errors[projection.name] = f"{type(e).__name__}: {e}"
                log.exception("projection %s failed; retrying in %.0f s", projection.name,
                              _RETRY_DELAY)
                await asyncio.sleep(_RETRY_DELAY)

    async def _apply(self, projection: Projection, batch: Sequence[Event]) -> None:
        name, last = projection.name, batch[-1].position
        types = projection.event_types
        relevant = batch if types is None else [e for e in batch if e.type in types]
        if relevant:
            async with self._tx_lock:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    await projection.apply(self._db, relevant)
                    await self._db.execute(
                        "UPDATE projection_checkpoints SET position = ? WHERE name = ?",
                        (last, name),
                    )
                    await self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:
                        await self._db.execute("ROLLBACK")
                    raise
            self._persisted[name] = last
        # A batch with nothing for this projection moves only the in-memory position:
        # re-reading such events after a crash changes nothing.
        self._positions[name] = last
        self.errors.pop(name, None)
        advanced, self._advanced = self._advanced, asyncio.Event()
        advanced.set()

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

    async def wait_for(
        self, position: int, timeout: float = 5.0, name: str | None = None
    ) -> None:
        """Return once `name` (or every projection) has applied `position`."""
        try:
            async with asyncio.timeout(timeout):
                while self.position(name) < position:
                    await self._advanced.wait()
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
            await self._drop(projection)
            await self._db.executescript(projection.schema())
            self._positions[projection.name] = 0
        read, position = 0, 1
        reading = asyncio.create_task(self._read_upto(position, until))
        while batch := await reading:
            position = batch[-1].position + 1
            # Read the next batch while this one is folded and written.
            reading = asyncio.create_task(self._read_upto(position, until))
            for projection in chosen:
                await self._apply(projection, batch)
            read += len(batch)
            if progress is not None:
                progress(len(batch))
        for projection in chosen:
            for index in projection.indexes:
                await self._db.execute(index)
        await self._persist_skipped()
        return read

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
