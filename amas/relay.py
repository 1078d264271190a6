"""The relay: every committed event goes out on NATS, at least once, in log order.

Subject = the event type (`task.completed` ...), payload = the JSON envelope, header
`Nats-Msg-Id` = the event id (subscribers and JetStream de-duplicate on it). The
position of the last event handed to the server is checkpointed after each flushed
batch; after a crash the relay resumes from there, so nothing committed is skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

import aiosqlite

from amas.bus import Bus
from events.envelope import encode_event
from events.store.base import EventStore

log = logging.getLogger(__name__)

_RETRY_DELAY = 0.5


class Relay:
    def __init__(self, store: EventStore, bus: Bus, db: aiosqlite.Connection) -> None:
        self.store = store
        self.bus = bus
        self.db = db
        self.position = 0
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(cls, store: EventStore, bus: Bus, path: Path) -> Relay:
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute(
            "CREATE TABLE IF NOT EXISTS relay_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1),"
            " position INTEGER NOT NULL)"
        )
        relay = cls(store, bus, db)
        rows = list(await db.execute_fetchall("SELECT position FROM relay_checkpoint"))
        relay.position = rows[0][0] if rows else 0
        return relay

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="relay")

    async def _run(self) -> None:
        while True:
            try:
                async for batch in self.store.subscribe_batches(self.position + 1):
                    for event in batch:
                        await self.bus.publish(
                            event.type, encode_event(event), {"Nats-Msg-Id": event.event_id}
                        )
                    await self.bus.nc.flush(timeout=10)
                    self.position = batch[-1].position
                    await self.db.execute(
                        "INSERT OR REPLACE INTO relay_checkpoint (id, position) VALUES (1, ?)",
                        (self.position,),
                    )
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:  # NATS away: retry from the checkpoint, in order
                log.warning("relay paused at position %d: %r", self.position, e)
                await asyncio.sleep(_RETRY_DELAY)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.db.close()
