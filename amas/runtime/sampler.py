"""Host samples: CPU, memory, the data folder's disk and the network counters, taken
every AMAS_METRICS_SAMPLE_SECONDS (10) into `metrics.db` in the data folder.

They are the host's state, not facts of the domain, so they stay out of the log: a
bounded time series (samples older than 30 days are pruned) that survives restarts.
CPU is computed from psutil's cumulative CPU times between two samples of this sampler:
psutil.cpu_percent() keeps one module-wide reference, which several nodes in one
process (the tests) would take from each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

import aiosqlite
import psutil

from api.port import HostReading

log = logging.getLogger(__name__)

KEEP_SECONDS = 30 * 86400
_PRUNE_EVERY = 3600.0
COLUMNS = {"cpu_usage": "cpu", "memory_usage": "memory", "disk_usage": "disk"}
"""The metrics a history may ask of the samples, and their columns."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS host_samples (
    ts_ms          INTEGER NOT NULL,
    cpu            REAL NOT NULL,
    memory         REAL NOT NULL,
    disk           REAL NOT NULL,
    bytes_sent     INTEGER NOT NULL,
    bytes_received INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS host_samples_time ON host_samples (ts_ms);
"""


def _busy_and_total(times: Any) -> tuple[float, float]:
    """psutil's own split: guest time is already in user time; iowait is idle."""
    total = sum(times) - getattr(times, "guest", 0.0) - getattr(times, "guest_nice", 0.0)
    return total - times.idle - getattr(times, "iowait", 0.0), total


class HostSampler:
    """`await HostSampler.open(path, folder, every)`, then `start()`; `close()` at the end."""

    def __init__(self, db: aiosqlite.Connection, folder: Path, every: float) -> None:
        self._db = db
        self._folder = folder
        self._every = every
        self._reference = _busy_and_total(psutil.cpu_times())
        self._cpu: float | None = None
        self._task: asyncio.Task[None] | None = None
        self.samples = 0
        """Taken since the node started."""

    @classmethod
    async def open(cls, path: Path, folder: Path, every: float) -> HostSampler:
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("PRAGMA busy_timeout=5000")
            await db.executescript(_SCHEMA)
            sampler = cls(db, folder, every)
            await sampler._prune()
        except BaseException:
            await db.close()
            raise
        return sampler

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="host-sampler")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._db.close()

    def reading(self) -> HostReading:
        memory = psutil.virtual_memory()
        disk = psutil.disk_usage(str(self._folder))
        network = psutil.net_io_counters()
        return HostReading(
            cpu_usage=self._cpu,
            memory_usage=round(memory.percent, 1),
            disk_usage=round(disk.percent, 1),
            bytes_sent=network.bytes_sent if network else 0,
            bytes_received=network.bytes_recv if network else 0,
        )

    async def series(self, metric: str, start: int, step: int, count: int) -> list[float | None]:
        column = COLUMNS[metric]
        values: list[float | None] = [None] * count
        for index, mean in await self._db.execute_fetchall(
            f"SELECT (ts_ms - ?) / ?, avg({column}) FROM host_samples"
            " WHERE ts_ms >= ? AND ts_ms < ? GROUP BY 1",
            (start * 1000, step * 1000, start * 1000, (start + step * count) * 1000),
        ):
            values[index] = round(mean, 1)
        return values

    async def _run(self) -> None:
        pruned = time.monotonic()
        while True:
            await asyncio.sleep(self._every)
            try:
                await self.sample()
                if time.monotonic() - pruned > _PRUNE_EVERY:
                    await self._prune()
                    pruned = time.monotonic()
            except asyncio.CancelledError:
                raise
            except Exception:  # a full disk, a locked file: the next sample may do
                log.exception("host sample not recorded")

    async def sample(self) -> None:
        """Measure the host and record it."""
        busy, total = _busy_and_total(psutil.cpu_times())
        was_busy, was_total = self._reference
        self._reference = (busy, total)
        if total > was_total:
            self._cpu = round(
                min(100.0, max(0.0, (busy - was_busy) / (total - was_total) * 100)), 1
            )
        else:  # no tick of the CPU clock since the last sample
            self._cpu = self._cpu or 0.0
        now = self.reading()
        await self._db.execute(
            "INSERT INTO host_samples VALUES (?, ?, ?, ?, ?, ?)",
            (
                int(time.time() * 1000),
                self._cpu,
                now.memory_usage,
                now.disk_usage,
                now.bytes_sent,
                now.bytes_received,
            ),
        )
        self.samples += 1

    async def _prune(self) -> None:
        cutoff = int((time.time() - KEEP_SECONDS) * 1000)
        await self._db.execute("DELETE FROM host_samples WHERE ts_ms < ?", (cutoff,))
