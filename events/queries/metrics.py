"""Metric queries: read the `metrics` projection (tasks, minute by minute) in buckets.

A history is a `Window`: `count` buckets of `step` seconds, aligned on multiples of the
step since the epoch (UTC), the last one the bucket `now` is in (still filling). What a
bucket without data shows depends on the metric: a count is 0, an average or a ratio
of nothing is None, and the queue carries its depth over from before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from events.projections.metrics import EVERY_TASK

PERIODS: dict[str, tuple[int, int]] = {
    "1h": (3600, 300),
    "6h": (6 * 3600, 900),
    "24h": (24 * 3600, 3600),
    "7d": (7 * 86400, 6 * 3600),
    "30d": (30 * 86400, 86400),
}
"""Period -> (its length, the bucket size), in seconds: 12, 24, 24, 28 and 30 points."""

TASK_METRICS = ("response_time", "throughput", "success_rate", "queue_depth")
HOST_METRICS = ("cpu_usage", "memory_usage", "disk_usage")
METRICS = TASK_METRICS + HOST_METRICS


@dataclass(frozen=True)
class Window:
    start: int
    """Epoch seconds at which the first bucket starts."""
    step: int
    count: int

    @classmethod
    def of(cls, period: str, now: float) -> Window:
        length, step = PERIODS[period]
        last = int(now) // step * step
        count = length // step
        return cls(last - (count - 1) * step, step, count)

    @property
    def end(self) -> int:
        return self.start + self.step * self.count

    def stamps(self) -> list[str]:
        return [
            datetime.fromtimestamp(self.start + i * self.step, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            for i in range(self.count)
        ]


@dataclass
class TaskBucket:
    completed: int = 0
    failed: int = 0
    timed: int = 0
    duration_us: int = 0
    queue_depth: int = 0
    """The most tasks queued at any moment in the bucket."""


async def task_buckets(
    db: aiosqlite.Connection, window: Window, agent_id: str | None = None
) -> list[TaskBucket]:
    who = agent_id or EVERY_TASK
    span = (who, window.start, window.end)
    buckets = [TaskBucket() for _ in range(window.count)]
    for index, completed, failed, timed, duration_us, peak in await db.execute_fetchall(
        "SELECT (minute - ?) / ?, sum(completed), sum(failed), sum(timed), sum(duration_us),"
        " max(queue_peak) FROM metrics_minutes WHERE agent_id = ? AND minute >= ?"
        " AND minute < ? GROUP BY 1",
        (window.start, window.step, *span),
    ):
        bucket = buckets[index]
        bucket.completed, bucket.failed, bucket.timed = completed, failed, timed
        bucket.duration_us, bucket.queue_depth = duration_us, peak or 0
    # The queue as each bucket ends: SQLite takes the bare column from the max() row.
    ends = {
        index: end
        for index, _, end in await db.execute_fetchall(
            "SELECT (minute - ?) / ?, max(minute), queue_end FROM metrics_minutes"
            " WHERE agent_id = ? AND minute >= ? AND minute < ? AND queue_end IS NOT NULL"
            " GROUP BY 1",
            (window.start, window.step, *span),
        )
    }
    before = list(
        await db.execute_fetchall(
            "SELECT queue_end FROM metrics_minutes WHERE agent_id = ? AND minute < ?"
            " AND queue_end IS NOT NULL ORDER BY minute DESC LIMIT 1",
            (who, window.start),
        )
    )
    depth = before[0][0] if before else 0
    for index, bucket in enumerate(buckets):
        bucket.queue_depth = max(bucket.queue_depth, depth)
        depth = ends.get(index, depth)
    return buckets


def task_values(metric: str, buckets: list[TaskBucket], step: int) -> list[float | None]:
    """Each bucket's value of `metric` (one of TASK_METRICS)."""
    match metric:
        case "response_time":
            return [round(b.duration_us / b.timed / 1e6, 3) if b.timed else None for b in buckets]
        case "throughput":
            return [round(b.completed * 60 / step, 3) for b in buckets]
        case "success_rate":
            return [success_rate(b.completed, b.failed) for b in buckets]
        case "queue_depth":
            return [b.queue_depth for b in buckets]
    raise ValueError(f"not a task metric: {metric!r}")


def success_rate(completed: int, failed: int) -> float | None:
    ended = completed + failed
    return round(completed / ended, 4) if ended else None


@dataclass(frozen=True)
class LastHour:
    """Every task that ended in the current minute and the 59 before it."""

    completed: int
    failed: int
    avg_duration: float | None
    """Seconds, over those that had started (a task failed while queued has no duration)."""

    @property
    def throughput(self) -> float:
        """Tasks completed per minute."""
        return round(self.completed / 60, 3)

    @property
    def success_rate(self) -> float | None:
        return success_rate(self.completed, self.failed)


async def last_hour(db: aiosqlite.Connection, now: float) -> LastHour:
    since = int(now) // 60 * 60 - 59 * 60
    rows = list(
        await db.execute_fetchall(
            "SELECT coalesce(sum(completed), 0), coalesce(sum(failed), 0),"
            " coalesce(sum(timed), 0), coalesce(sum(duration_us), 0)"
            " FROM metrics_minutes WHERE agent_id = ? AND minute >= ?",
            (EVERY_TASK, since),
        )
    )
    completed, failed, timed, duration_us = rows[0]
    average = round(duration_us / timed / 1e6, 3) if timed else None
    return LastHour(completed, failed, average)
