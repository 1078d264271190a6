"""The relay: every committed event goes out on NATS, at least once, in log order.

Subject = the event type (`task.completed` ...), payload = the JSON envelope, header
`Nats-Msg-Id` = the event id. A JetStream stream (`AMAS_EVENTS`) keeps every public
event, de-duplicated on that header, for subscribers that must not miss one across
outages (a durable consumer); plain `nats sub 'task.*'` sees the same messages live.

What counts as delivered is what JetStream acknowledged. Each batch goes out as plain
publishes with an acknowledged publish last: one connection delivers in order, so the
last message's ack covers the batch, unless the connection was replaced in between
(then the batch is sent again). A quarter-second saver checkpoints the acknowledged
position in relay.db. Two rewinds cover what an ack cannot: nats-server acknowledges
before its file store reaches the disk, so after a reconnect, and after the node
restarts from a crash, the relay re-publishes from where it stood `_REWIND` seconds
earlier; the stream drops what it already has by Nats-Msg-Id (plain subscribers may
see those messages twice). After a clean stop nothing is sent again.

Without JetStream (a joined server that has none), a flush round trip stands in for
the ack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from pathlib import Path
from typing import Any

import aiosqlite
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.client import JetStreamContext

from amas.runtime.bus import Bus
from events.envelope import encode_event
from events.store.base import EventStore

log = logging.getLogger(__name__)

STREAM = "AMAS_EVENTS"
SUBJECTS = [
    "task.>",
    "agent.>",
    "system.>",
    "apikey.>",
    "workflow.>",
    "provider.>",
    "webhook.>",
    "ml.>",
    "rl.>",
    "cache.>",
]
"""Where public events go: one subject per event type, under these prefixes. Every event
family must be here: a batch is acknowledged by publishing its last event to the stream,
and one outside these subjects gets no ack (the relay would send its tail again and again)."""

_RETRY_DELAY = 0.5
_CHECKPOINT_EVERY = 0.25
_ACK_TIMEOUT = 5.0
_REWIND = 2.0
"""Seconds of acknowledged events re-sent after a reconnect or a restart."""
_HISTORY = 200
_MAX_AGE = 7 * 24 * 3600.0
_DUPLICATE_WINDOW = 120.0


class _Restart(Exception):
    """Publishing must start again from the acknowledged position."""


class Relay:
    def __init__(self, store: EventStore, bus: Bus, db: aiosqlite.Connection) -> None:
        self.store = store
        self.bus = bus
        self.db = db
        self.js: JetStreamContext | None = None
        self.position = 0
        """Saved checkpoint: JetStream (or the server) has every event up to here."""
        self.acked = 0
        """Acknowledged, perhaps not yet saved."""
        self.published = 0
        """Handed to the NATS client, perhaps not yet acknowledged."""
        self.sent = 0
        """Events published since the relay started, repeats included."""
        self._saved_safe = -1
        """The safe position last written to relay.db (-1: none yet)."""
        self._start_from = 1
        self._pending: deque[tuple[int, asyncio.Future[Any] | None, int, float]] = deque()
        """(position, ack, the connection it was sent on, when) per batch, in order"""
        self._history: deque[tuple[float, int]] = deque(maxlen=_HISTORY)
        """(monotonic time, acknowledged position), for rewinds"""
        self._task: asyncio.Task[None] | None = None
        self._saver: asyncio.Task[None] | None = None
        self._restart = asyncio.Event()
        self._restart_reason = ""

    @classmethod
    async def open(cls, store: EventStore, bus: Bus, path: Path) -> Relay:
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA busy_timeout=5000")
        await db.execute(
            "CREATE TABLE IF NOT EXISTS relay_checkpoint (id INTEGER PRIMARY KEY CHECK (id = 1),"
            " position INTEGER NOT NULL, safe_position INTEGER NOT NULL DEFAULT 0)"
        )
        columns = {r[1] for r in await db.execute_fetchall("PRAGMA table_info(relay_checkpoint)")}
        if "safe_position" not in columns:  # a relay.db from before the rewinds
            await db.execute(
                "ALTER TABLE relay_checkpoint ADD COLUMN safe_position INTEGER NOT NULL DEFAULT 0"
            )
        relay = cls(store, bus, db)
        rows = list(
            await db.execute_fetchall("SELECT position, safe_position FROM relay_checkpoint")
        )
        position, safe = rows[0] if rows else (0, 0)
        relay.position = relay.acked = position
        # The node stopped, perhaps with its nats-server: send the last seconds again.
        relay._start_from = min(position, safe) + 1
        relay.js = await relay._ensure_stream()
        return relay

    async def _ensure_stream(self) -> JetStreamContext | None:
        js = self.bus.nc.jetstream(timeout=5)
        config = StreamConfig(
            name=STREAM,
            subjects=SUBJECTS,
            storage=StorageType.FILE,
            retention=RetentionPolicy.LIMITS,
            discard=DiscardPolicy.OLD,
            max_age=_MAX_AGE,
            duplicate_window=_DUPLICATE_WINDOW,
        )
        try:
            try:
                await js.stream_info(STREAM)
                await js.update_stream(config)
            except Exception:
                await js.add_stream(config)
        except Exception as e:
            log.warning(
                "no JetStream stream %s (%r): events go out without a stream,"
                " and a flush stands in for acknowledgement",
                STREAM,
                e,
            )
            return None
        return js

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        # What is known to be safe at the start: a rewind never goes further back.
        self._history.append((time.monotonic() - _REWIND, self._start_from - 1))
        self._task = asyncio.create_task(self._run(), name="relay")
        self._saver = asyncio.create_task(self._save_periodically(), name="relay-checkpoint")

    # -- publishing ---------------------------------------------------------------------

    async def _run(self) -> None:
        start = self._start_from
        while True:
            self._drop_pending()
            self.published = start - 1
            self._restart.clear()
            publisher = asyncio.create_task(self._publish_from(start))
            restart = asyncio.create_task(self._restart.wait())
            try:
                await asyncio.wait({publisher, restart}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (publisher, restart):
                    task.cancel()
                await asyncio.gather(publisher, restart, return_exceptions=True)
            if restart.done() and not restart.cancelled():
                log.info("relay starts again after %d: %s", self.acked, self._restart_reason)
            elif publisher.cancelled():
                raise asyncio.CancelledError
            elif isinstance(publisher.exception(), _Restart):
                log.info("relay starts again after %d: %s", self.acked, publisher.exception())
            elif publisher.exception() is not None:  # NATS away: retry from what was acked
                log.warning("relay paused at %d: %r", self.acked, publisher.exception())
                await asyncio.sleep(_RETRY_DELAY)
            else:
                return  # the store closed
            start = self._rewound() + 1

    async def _publish_from(self, position: int) -> None:
        publish, nc = self.bus.publish, self.bus.nc
        async for batch in self.store.subscribe_batches(position):
            self._check_acks()
            connection = nc.stats["reconnects"]
            last = batch[-1]
            for event in batch[:-1]:
                await publish(event.type, encode_event(event), {"Nats-Msg-Id": event.event_id})
            ack: asyncio.Future[Any] | None = None
            if self.js is not None:
                ack = await self.js.publish_async(
                    last.type, encode_event(last), headers={"Nats-Msg-Id": last.event_id}
                )
            else:
                await publish(last.type, encode_event(last), {"Nats-Msg-Id": last.event_id})
            self._pending.append((last.position, ack, connection, time.monotonic()))
            self.published = last.position
            self.sent += len(batch)

    def _check_acks(self) -> None:
        """Move `acked` over the acknowledged batches; raise _Restart on a lost one."""
        reconnects = self.bus.nc.stats["reconnects"]
        while self._pending:
            position, ack, connection, sent = self._pending[0]
            if connection != reconnects:
                raise _Restart("the connection was replaced while a batch was in flight")
            if ack is None:
                return  # no JetStream: the saver's flush acknowledges
            if not ack.done():
                if time.monotonic() - sent > _ACK_TIMEOUT:
                    raise _Restart(f"no acknowledgement within {_ACK_TIMEOUT:g} s")
                return
            if ack.cancelled() or ack.exception() is not None:
                raise _Restart(f"publish refused: {ack.exception()!r}")
            self._pending.popleft()
            self.acked = position

    def _drop_pending(self) -> None:
        for _, ack, _, _ in self._pending:
            if ack is not None and not ack.done():
                ack.cancel()
        self._pending.clear()

    def _rewound(self) -> int:
        """The position acknowledged `_REWIND` seconds before the connection broke."""
        broke_at = self.bus.disconnected_at
        if broke_at is None:
            return self.acked
        for when, position in reversed(self._history):
            if when <= broke_at - _REWIND:
                return min(position, self.acked)
        return min((p for _, p in self._history), default=self.acked)

    # -- checkpoints ---------------------------------------------------------------------

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
        if self.js is None:
            published, connection = self.published, self.bus.nc.stats["reconnects"]
            if published > self.acked:
                await self.bus.nc.flush(timeout=5)
                if self.bus.nc.stats["reconnects"] == connection:
                    self.acked = published
                    self._pending.clear()
        else:
            try:
                self._check_acks()
            except _Restart as e:  # the publisher may be idle: wake it
                self._restart_reason = str(e)
                self._restart.set()
        now = time.monotonic()
        self._history.append((now, self.acked))
        safe = next(
            (p for when, p in reversed(self._history) if when <= now - _REWIND), self._history[0][1]
        )
        if self.acked == self.position and safe == self._saved_safe:
            return
        await self.db.execute(
            "INSERT OR REPLACE INTO relay_checkpoint (id, position, safe_position)"
            " VALUES (1, ?, ?)",
            (self.acked, safe),
        )
        self.position, self._saved_safe = self.acked, safe

    async def close(self) -> None:
        for task in (self._task, self._saver):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        with contextlib.suppress(Exception):  # best effort: NATS may be gone already
            if self.js is not None and self._pending:
                last = self._pending[-1][1]
                if last is not None:
                    await asyncio.wait_for(asyncio.shield(last), 2.0)
            await self._save()
            # A clean stop: what was acknowledged stays (nats-server flushes its store when
            # it stops), so the next start need not send the last seconds again.
            await self.db.execute("UPDATE relay_checkpoint SET safe_position = position")
        self._drop_pending()
        await self.db.close()
