"""From the log to the simulator: the workload a window of tasks shows, and how well a
window went (the same reward the simulator gives, measured on the live node).

Rows are tasks as the tasks read model has them (events/queries/learning.py,
`tasks_between`): type, status, parameters, agent, and the created / started / ended
times in epoch seconds.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import fmean, pstdev

import msgspec

from actors.learning.gym_env import Pool, TypeLoad, WindowResult, Workload


@dataclass(frozen=True)
class TaskRow:
    task_type: str
    status: str
    parameters: dict[str, object]
    agent_type: str | None
    created: float
    started: float | None
    ended: float | None


def fit(
    rows: Sequence[TaskRow],
    start: float,
    end: float,
    pools: Sequence[Pool],
    cacheable: Iterable[str],
    caching: Iterable[str],
) -> Workload:
    """The workload of the tasks created in [start, end)."""
    seconds = max(1, math.ceil(end - start))
    cacheable = set(cacheable)
    by_type: dict[str, list[TaskRow]] = defaultdict(list)
    for row in rows:
        by_type[row.task_type].append(row)
    ran = [r for r in rows if r.started is not None and r.ended is not None]
    others = _running_at_start(ran)
    contention = _contention(others)
    others_of = {id(task): count for task, count in others}
    types = []
    for task_type, tasks in sorted(by_type.items()):
        arrivals = [0] * seconds
        for task in tasks:
            index = int(task.created - start)
            if 0 <= index < seconds:
                arrivals[index] += 1
        durations = [
            (t.ended - t.started) / (1.0 + contention * others_of[id(t)])
            for t in tasks
            if t.status == "completed" and t.ended is not None and t.started is not None
        ]
        pool = Counter(t.agent_type for t in tasks if t.agent_type).most_common(1)
        if not durations or not pool:
            continue  # never ran here: nothing to fit its service on
        mean = fmean(durations)
        seen: set[bytes] = set()
        repeats = 0
        for task in sorted(tasks, key=lambda t: t.created):
            key = msgspec.json.encode(task.parameters, order="sorted")
            repeats += key in seen
            seen.add(key)
        types.append(
            TypeLoad(
                task_type=task_type,
                pool=str(pool[0][0]),
                arrivals=tuple(arrivals),
                service_mean=mean,
                service_cv=pstdev(durations) / mean if mean > 0 and len(durations) > 1 else 0.0,
                repeat_share=repeats / len(tasks),
                cacheable=task_type in cacheable,
            )
        )
    return Workload(
        types=tuple(types),
        pools=tuple(pools),
        contention=contention,
        caching=frozenset(caching) & cacheable,
    )


def measure(rows: Sequence[TaskRow], start: float, end: float) -> WindowResult:
    """A live window as the simulator scores one: the tasks offered in it (created in it,
    or still unfinished when it began), those that ended in it and their latencies."""
    offered = completed = 0
    latencies: list[float] = []
    for row in rows:
        if row.created >= end or (row.ended is not None and row.ended < start):
            continue
        offered += 1
        if row.ended is not None and row.ended < end and row.status == "completed":
            completed += 1
            latencies.append(row.ended - row.created)
    backlog = sum(1 for r in rows if r.created < end and (r.ended is None or r.ended >= end))
    return WindowResult(offered, completed, latencies, backlog)


def _running_at_start(ran: Sequence[TaskRow]) -> list[tuple[TaskRow, int]]:
    """Each task that ran with the number of others running when it started."""
    starts = sorted(r.started for r in ran if r.started is not None)
    ends = sorted(r.ended for r in ran if r.ended is not None)
    out = []
    for task in ran:
        assert task.started is not None
        running = bisect_right(starts, task.started) - bisect_right(ends, task.started)
        out.append((task, max(running - 1, 0)))
    return out


def _contention(others: Sequence[tuple[TaskRow, int]]) -> float:
    """How much each other running task slows one down: the least-squares slope through
    the origin of (duration / its type's mean - 1) on the tasks running at its start,
    within [0, 1]. Sleep-bound work shows ~0, CPU-bound work on few cores more."""
    durations: dict[str, list[float]] = defaultdict(list)
    for r, _ in others:
        assert r.ended is not None and r.started is not None
        durations[r.task_type].append(r.ended - r.started)
    means = {task_type: fmean(values) for task_type, values in durations.items()}
    xy = xx = 0.0
    for task, running in others:
        assert task.ended is not None and task.started is not None
        mean = means[task.task_type]
        if mean <= 0 or running == 0:
            continue
        xy += running * ((task.ended - task.started) / mean - 1.0)
        xx += running * running
    return min(max(xy / xx, 0.0), 1.0) if xx else 0.0
