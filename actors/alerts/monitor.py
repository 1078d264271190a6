"""The alert monitor: follows the log, looks at the backlog, the disk and the hash chain
on timers, and writes `system.alert` (stream `system`, actor `alerts`) when rules.py
says an alert starts or ends.

Only this live monitor decides: a replay or a projection rebuild writes no alert. At
start it takes the alerts still active from the `alerts` read model, then folds the
events between its checkpoint and the head (those it may not have seen before a crash)
without deciding in between, and decides once on where they leave things: an alert
raised and cleared in that stretch is not raised again, and a recovery it missed is
written. Then it follows the log from the head.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from actors.alerts import rules
from actors.alerts.facts import AlertSettings, State, fold
from events.envelope import Meta
from events.errors import StoreClosedError
from events.store.base import ANY_VERSION, EventStore
from events.types import SystemAlerted
from events.verify import Anchor, VerifyResult

log = logging.getLogger(__name__)

_READ = 1000
_CHECKPOINT_EVERY = 1.0
"""Seconds between checkpoint writes (a crash folds at most this much again)."""


@dataclass(frozen=True)
class Sources:
    """Where the monitor looks, besides the log."""

    active: Callable[[int], Awaitable[list[SystemAlerted]]]
    """The alerts still active, once the alerts read model has reached the position."""
    usable: Callable[[], frozenset[str]]
    """The providers a call may go to now (enabled and configured)."""
    queued: Callable[[], Awaitable[int]]
    """How many tasks are queued."""
    disk_free: Callable[[], int]
    """Bytes free on the data folder's disk."""
    verify: Callable[[Anchor | None], Awaitable[VerifyResult]]
    """A hash-chain check from position 1, or after an anchor (verify_log's)."""


class AlertMonitor:
    def __init__(
        self,
        store: EventStore,
        settings: AlertSettings,
        checkpoint: Path,
        sources: Sources,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.settings = settings
        self.checkpoint_path = checkpoint
        self.sources = sources
        self.clock = clock
        self.state = State()
        self.position = 0
        """The last event folded and decided on: every alert it called for is written."""
        self.tasks: set[asyncio.Task[None]] = set()
        self.deciding = asyncio.Lock()
        self.db: aiosqlite.Connection

    async def start(self) -> None:
        self.db = await aiosqlite.connect(self.checkpoint_path, isolation_level=None)
        try:
            await self._resume()
        except BaseException:
            await self.db.close()
            raise
        self._spawn(self._follow(self.position + 1))
        self._spawn(self._save_checkpoints())
        self._spawn(self._polling())
        self._spawn(self._verifying())

    async def _resume(self) -> None:
        """The active alerts, the events since the checkpoint, one decision on both."""
        await self.db.execute("CREATE TABLE IF NOT EXISTS checkpoint (position INTEGER)")
        rows = list(await self.db.execute_fetchall("SELECT position FROM checkpoint"))
        head = self.store.head
        if not rows:  # a new node, or one from before alerts: its past raises nothing
            await self.db.execute("INSERT INTO checkpoint VALUES (?)", (head,))
        rules.seed(self.state, await self.sources.active(head), self.clock())
        await self._catch_up(int(rows[0][0]) + 1 if rows else head + 1, head)
        await self._observe()
        await self._decide()
        self.position = head
        await self.db.execute("UPDATE checkpoint SET position = ?", (head,))

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.db.execute("UPDATE checkpoint SET position = ?", (self.position,))
        await self.db.close()

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _catch_up(self, position: int, head: int) -> None:
        while position <= head:
            batch = await self.store.read_all(position, min(_READ, head - position + 1))
            if not batch:
                return
            for event in batch:
                fold(self.state, event, self.settings, live=False)
            position = batch[-1].position + 1

    async def _follow(self, from_position: int) -> None:
        async for batch in self.store.subscribe_batches(from_position):
            changed = False
            for event in batch:
                changed |= fold(self.state, event, self.settings)
            if changed:
                await self._decide()
            self.position = batch[-1].position

    async def _polling(self) -> None:
        """Look at the backlog and the disk; decide also on what time alone changes (an
        agent's quiet window) and on the providers a call may go to."""
        while True:
            await asyncio.sleep(self.settings.poll_every)
            await self._observe()
            await self._decide()

    async def _observe(self) -> None:
        settings, state = self.settings, self.state
        try:
            state.queued = await self.sources.queued() if settings.backlog else None
            state.disk_free = self.sources.disk_free() if settings.disk_free_mb else None
        except Exception:  # the next look tries again
            log.exception("alerts: could not read the backlog or the disk")

    async def _verifying(self) -> None:
        """Check the chain every `verify_every`: the events since the last check, and the
        whole log at the first check and then after each `verify_full_every`."""
        anchor: Anchor | None = None
        full_at = self.clock()
        while self.settings.verify_every:
            await asyncio.sleep(self.settings.verify_every)
            if self.clock() - full_at >= (self.settings.verify_full_every or float("inf")):
                anchor, full_at = None, self.clock()
            try:
                result = await self.sources.verify(anchor)
            except Exception:
                log.exception("alerts: could not check the log's hash chain")
                continue
            anchor, self.state.verify = result.anchor, result
            await self._decide()

    async def _decide(self) -> None:
        """Write the alerts that start or end now, in one append; note them once written
        (a failed append is decided again at the next look)."""
        async with self.deciding:
            now = rules.Now(self.clock(), self.sources.usable(), self.settings)
            alerts = rules.decide(self.state, now)
            if alerts:
                try:
                    await self.store.append("system", ANY_VERSION, alerts, Meta(actor="alerts"))
                except StoreClosedError:
                    return
                except Exception:
                    log.exception("alerts: could not record %s", [a.code for a in alerts])
                    return
            rules.record(self.state, alerts, now)

    async def _save_checkpoints(self) -> None:
        saved = self.position
        while True:
            await asyncio.sleep(_CHECKPOINT_EVERY)
            if self.position != saved:
                saved = self.position
                await self.db.execute("UPDATE checkpoint SET position = ?", (saved,))
