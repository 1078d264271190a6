"""The host sampler: samples on its own schedule, kept across restarts, pruned past 30 days."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

from amas.runtime.sampler import KEEP_SECONDS, HostSampler


def _count(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("SELECT count(*) FROM host_samples").fetchone()[0])


async def test_samples_are_taken_on_schedule_and_read_back_in_buckets(
    tmp_path: Path, eventually: Any
) -> None:
    path = tmp_path / "metrics.db"
    sampler = await HostSampler.open(path, tmp_path, every=0.05)
    sampler.start()
    try:
        await eventually(lambda: sampler.samples >= 3, "three samples")
        end = int(time.time()) + 1  # every sample so far is in [end - 60, end)

        cpu = await sampler.series("cpu_usage", end - 120, 60, 2)
        memory = await sampler.series("memory_usage", end - 120, 60, 2)
        reading = sampler.reading()
    finally:
        await sampler.close()

    assert cpu[0] is None  # nothing sampled a minute ago
    assert cpu[1] is not None and 0.0 <= cpu[1] <= 100.0
    assert memory[1] is not None and 0.0 < memory[1] <= 100.0
    assert reading.cpu_usage is not None and 0.0 <= reading.cpu_usage <= 100.0
    assert 0.0 < reading.disk_usage <= 100.0
    assert reading.bytes_sent >= 0 and reading.bytes_received >= 0


async def test_samples_outlive_the_sampler_and_those_past_30_days_are_pruned(
    tmp_path: Path,
) -> None:
    path = tmp_path / "metrics.db"
    first = await HostSampler.open(path, tmp_path, every=60)
    await first.sample()
    await first.sample()
    await first.close()
    old = int((time.time() - KEEP_SECONDS - 60) * 1000)
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO host_samples VALUES (?, 1, 2, 3, 4, 5)", (old,))
    assert _count(path) == 3

    again = await HostSampler.open(path, tmp_path, every=60)
    await again.close()

    assert _count(path) == 2
