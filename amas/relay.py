"""The relay: every committed event goes out on NATS, at least once, in log order.

Subject = the event type (`task.completed` ...), payload = the JSON envelope, header
`Nats-Msg-Id` = the event id (subscribers and JetStream de-duplicate on it). Every
quarter second the relay flushes to the server and checkpoints the last position it
published; after a crash it resumes from there, so nothing committed is skipped (and
at most that quarter second is published twice).
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
_CHECKPOINT_EVERY = 0.25


class Relay:
    def __init__(self, store: EventStore, bus: Bus, db: aiosqlite.Connection) -> None:
        self.store = store
        self.bus = bus
        self.db = db
        self.position = 0
        """Saved checkpoint: every event up to here has reached the server."""
        self.published = 0
        """Handed to the NATS client, perhaps not yet flushed to the server."""
        self._task: asyncio.Task[None] | None = None
        self._saver: asyncio.Task[None] | None = None

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
        self._saver = asyncio.create_task(self._save_periodically(), name="relay-checkpoint")

    async def _run(self) -> None:
        while True:
            self.published = self.position
            try:
                async for batch in self.store.subscribe_batches(self.published + 1):
                    for event in batch:
                        await self.bus.publish(
                            event.type, encode_event(event), {"Nats-Msg-Id": event.event_id}
                        )
                    self.published = batch[-1].position
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:  # NATS away: retry from the checkpoint, in order
                log.warning("relay paused at position %d: %r", self.position, e)
                await asyncio.sleep(_RETRY_DELAY)

    async def _save_periodically(self) -> None:
        while True:
            await asyncio.sleep(_CHECKPOINT_EVERY)
            try:
                await self._save()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # NATS away: the checkpoint waits; events are not lost
                log.debug("relay checkpoint not saved: %r", e)

    async def _save(self) -> None:
        """Checkpoint what the server has acknowledged (a flush is a round trip to it).

        Publishing does not wait for this: after a crash the relay re-publishes at most
        the last interval's events, which subscribers drop by Nats-Msg-Id.
        """
        published = self.published
        if published <= self.position:
            return
        await self.bus.nc.flush(timeout=5)
        await self.db.execute(
            "INSERT OR REPLACE INTO relay_checkpoint (id, position) VALUES (1, ?)", (published,)
        )
        self.position = published

    async def close(self) -> None:
        for task in (self._task, self._saver):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        with contextlib.suppress(Exception):  # best effort: NATS may be gone already
            await self._save()
        await self.db.close()
