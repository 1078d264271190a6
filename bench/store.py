"""Benchmark of the event store: durable appends and projection replay.

What is measured, all in one run on one machine, so that every rate can be read
against a ceiling taken a few seconds apart (this kind of machine is noisy):

1. **Raw ceiling**: plain `sqlite3`, no asyncio, the store's own schema and pragmas
   (imported from `events.store.schema`: WAL, synchronous=FULL, the unique
   (stream, version) index, the append-only triggers). Rows are built beforehand
   (positions, ids, hash chain), then inserted with `executemany` in batches of
   1,000 rows, each batch its own BEGIN ... COMMIT. No store can beat this by much
   with the same durability, so it is the yardstick for the append target.
2. **Naive baseline**: the same, one transaction (one fsync) per event, on a smaller
   count because it is slow. This is what the group committer exists to avoid.
3. **Store appends**: `SQLiteEventStore.append` from 100 concurrent asyncio
   appenders. Each appender runs task lifecycles (created, started, progressed
   twice, completed) on a new stream `task-<ulid>`: the first call with
   expected_version NO_STREAM, then one call per event with the version the last
   call returned, as an actor appends while its task moves. Every call carries ONE
   event and returns only once its group commit is fsynced. A second line does the
   same with a lifecycle's five events in one call, to show the per-call overhead.
   The events are built before the clock starts: only the store is timed.
4. **Replay**: `ProjectionRunner.rebuild()` with `TasksProjection` into a fresh
   projections database, on the log the last append rep wrote: read + decode +
   fold + write. For context, the decode-only rate: `store.read_all` in batches of
   5,000 with nothing applied.

Events are ~300 bytes of data + meta as stored (the mean is measured from the file
and printed). Every rate is the median of `--reps` repetitions, each append and
ceiling rep on a fresh database. Everything lives in a temporary directory under
the system temp dir (or `--dir`) that is removed at the end; nothing touches the
network.

Targets (from the issue): appends >= 50,000 events/s and >= 0.5 of the raw batched
ceiling; replay >= 150,000 events/s.

Run from the repo root: `python bench/store.py` (about 1-3 minutes) or
`python bench/store.py --quick` (a few seconds, for a smoke test).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/store.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

from bench import machine  # noqa: E402
from bench.figures import percentile, verdict  # noqa: E402
from events.envelope import EventData, Meta  # noqa: E402
from events.ids import new_id, new_ids  # noqa: E402
from events.projections.runner import ProjectionRunner  # noqa: E402
from events.projections.tasks import TasksProjection  # noqa: E402
from events.store.base import NO_STREAM  # noqa: E402
from events.store.chain import GENESIS, canonical_bytes  # noqa: E402
from events.store.schema import COLUMNS, DDL, PRAGMAS  # noqa: E402
from events.store.sqlite import SQLiteEventStore  # noqa: E402
from events.types import TaskCompleted, TaskCreated, TaskProgressed, TaskStarted  # noqa: E402

TARGET_APPEND_RATE = 50_000
TARGET_CEILING_RATIO = 0.5
TARGET_REPLAY_RATE = 150_000

RAW_BATCH = 1000
READ_BATCH = 5000
EVENTS_PER_TASK = 5

INSERT_ROW = f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join('?' * 10)})"

_encode = msgspec.json.Encoder().encode

Row = tuple[int, str, str, int, str, int, int, bytes, bytes, str]


# -- the workload ----------------------------------------------------------------------


@dataclass(frozen=True)
class Lifecycle:
    """One task's stream and the five events an actor appends to it, with their meta."""

    stream: str
    events: tuple[EventData, ...]
    meta: Meta


_TASK_TYPES = ("summarize", "translate", "classify", "extract", "review")
_KINDS = ("summarizer", "translator", "classifier", "extractor", "reviewer")
_SUMMARY = (
    "The quarterly report shows revenue up 12% on the year, driven by the new "
    "subscription tier; costs rose 4%, mostly hosting. Churn fell to 2.1%. Two risks: "
    "the EU pricing change and a supplier contract."
)


def make_lifecycle(n: int) -> Lifecycle:
    """Task `n`'s lifecycle; payloads vary a little and average ~300 bytes stored."""
    task_id = new_id().lower()
    kind = n % len(_KINDS)
    agent = f"agent-{_KINDS[kind]}-{n % 16:02d}"
    words = 150 + n % 200
    events: tuple[EventData, ...] = (
        TaskCreated(
            task_id=task_id,
            task_type=_TASK_TYPES[kind],
            parameters={
                "document_url": f"https://docs.example.com/reports/2024/q{n % 4 + 1}/{task_id}.pdf",
                "max_words": 250,
                "language": ("en", "de", "fr")[n % 3],
                "style": "bullet points",
            },
            priority=("low", "normal", "high", "critical")[n % 4],
            callback_url=f"https://hooks.example.com/amas/{task_id}",
            assigned_agents=[agent, f"agent-reviewer-{n % 8:02d}"],
        ),
        TaskStarted(task_id=task_id, agent_id=agent),
        TaskProgressed(
            task_id=task_id,
            agent_id=agent,
            progress=40,
            message=f"fetched the document; {n % 40 + 1} pages, extracting text",
        ),
        TaskProgressed(
            task_id=task_id,
            agent_id=agent,
            progress=80,
            message=f"summary drafted, {words} words; running the reviewer checks",
        ),
        TaskCompleted(
            task_id=task_id,
            agent_id=agent,
            result={
                "summary": _SUMMARY[: 150 + n % 60],
                "words": words,
                "pages": n % 40 + 1,
                "model": "small-2024-06",
            },
        ),
    )
    meta = Meta(correlation_id=new_id(), actor=agent)
    return Lifecycle(stream=f"task-{task_id}", events=events, meta=meta)


def interleaved(work: Sequence[Sequence[Lifecycle]]) -> list[tuple[str, int, EventData, Meta]]:
    """(stream, version, data, meta) in the order lockstep appenders would write them."""
    out: list[tuple[str, int, EventData, Meta]] = []
    for round_ in range(max(len(w) for w in work)):
        group = [w[round_] for w in work if round_ < len(w)]
        for version in range(1, EVENTS_PER_TASK + 1):
            out.extend((lc.stream, version, lc.events[version - 1], lc.meta) for lc in group)
    return out


def build_rows(events: Sequence[tuple[str, int, EventData, Meta]]) -> list[Row]:
    """Stored rows as the store would write them: ids, timestamps, the hash chain."""
    rows: list[Row] = []
    previous = GENESIS
    ids = new_ids(len(events))
    ts = time.time_ns() // 1000
    for position, ((stream, version, data, meta), event_id) in enumerate(
        zip(events, ids, strict=True), start=1
    ):
        data_bytes, meta_bytes = _encode(data), _encode(meta)
        type_name, schema = data.type_name, data.schema_version
        previous = sha256(
            previous
            + canonical_bytes(
                position, event_id, stream, version, type_name, schema, ts, data_bytes, meta_bytes
            )
        ).digest()
        rows.append(
            (
                position,
                event_id,
                stream,
                version,
                type_name,
                schema,
                ts,
                data_bytes,
                meta_bytes,
                previous.hex(),
            )
        )
        ts += 1
    return rows


# -- measurements ----------------------------------------------------------------------


@dataclass
class Result:
    label: str
    events: int
    rates: list[float] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)  # per append call, last rep
    note: str = ""
    writes: bool = True
    """An insert rate, comparable with the raw insert ceiling (replay is not)."""

    @property
    def median(self) -> float:
        return statistics.median(self.rates) if self.rates else 0.0


def raw_insert(path: Path, rows: Sequence[Row], batch: int) -> float:
    """Plain sqlite3: `batch` rows per transaction (executemany); returns events/s."""
    chunks = [rows[i : i + batch] for i in range(0, len(rows), batch)]
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for pragma in PRAGMAS:
            conn.execute(pragma)
        conn.executescript(DDL)
        start = time.perf_counter()
        for chunk in chunks:
            conn.execute("BEGIN")
            conn.executemany(INSERT_ROW, chunk)
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - start
        (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
    finally:
        conn.close()
    if count != len(rows):
        raise RuntimeError(f"raw insert wrote {count} rows, not {len(rows)}")
    return len(rows) / elapsed


async def store_appends(
    path: Path, work: Sequence[Sequence[Lifecycle]], per_call: int, latencies: list[float]
) -> float:
    """The store, one appender task per `work` item; returns events/s."""
    store = await SQLiteEventStore.open(path)
    clock = time.perf_counter

    async def appender(lifecycles: Sequence[Lifecycle]) -> None:
        for lc in lifecycles:
            version = NO_STREAM
            for i in range(0, len(lc.events), per_call):
                started = clock()
                result = await store.append(
                    lc.stream, version, lc.events[i : i + per_call], lc.meta
                )
                latencies.append(clock() - started)
                version = result.version

    try:
        start = clock()
        await asyncio.gather(*(appender(w) for w in work))
        elapsed = clock() - start
    finally:
        await store.close()
    return sum(len(w) for w in work) * EVENTS_PER_TASK / elapsed


async def replay(log_path: Path, projections_path: Path, tasks: int) -> float:
    """`runner.rebuild()` with TasksProjection into a fresh database; returns events/s."""
    store = await SQLiteEventStore.open(log_path)
    try:
        runner = await ProjectionRunner.open(store, projections_path, [TasksProjection()])
        try:
            start = time.perf_counter()
            replayed = await runner.rebuild()
            elapsed = time.perf_counter() - start
        finally:
            await runner.close()
    finally:
        await store.close()
    with sqlite3.connect(projections_path) as conn:
        (done,) = conn.execute("SELECT count(*) FROM tasks WHERE status = 'completed'").fetchone()
    conn.close()
    if replayed != tasks * EVENTS_PER_TASK or done != tasks:
        raise RuntimeError(f"replay read {replayed} events and completed {done} tasks")
    return replayed / elapsed


async def decode_only(log_path: Path, expected: int) -> float:
    """`store.read_all` in batches of 5,000, nothing applied; returns events/s."""
    store = await SQLiteEventStore.open(log_path)
    try:
        count, position = 0, 1
        start = time.perf_counter()
        while batch := await store.read_all(position, READ_BATCH):
            count += len(batch)
            position = batch[-1].position + 1
        elapsed = time.perf_counter() - start
    finally:
        await store.close()
    if count != expected:
        raise RuntimeError(f"read_all returned {count} events, not {expected}")
    return count / elapsed


def log_facts(path: Path) -> tuple[int, float, int]:
    """(events, mean stored data+meta bytes, distinct timestamps = group commits, about)."""
    with sqlite3.connect(path) as conn:
        count, size, commits = conn.execute(
            "SELECT count(*), avg(length(data) + length(meta)), count(DISTINCT ts) FROM events"
        ).fetchone()
    conn.close()
    return int(count), float(size or 0), int(commits)


# -- the run ---------------------------------------------------------------------------


def fresh(directory: Path, name: str) -> Path:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{directory / name}{suffix}").unlink(missing_ok=True)
    return directory / name


def timed_reps(reps: int, run: Callable[[int], float], result: Result) -> Result:
    for rep in range(reps):
        gc.collect()
        result.rates.append(run(rep))
    return result


def bare_loop_seconds(steps: int = 10_000_000) -> float:
    """A bare Python loop: how fast this CPU is right now (shared machines drift)."""
    start = time.perf_counter()
    for _ in range(steps):
        pass
    return time.perf_counter() - start


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--events", type=int, default=100_000, help="events per append rep")
    parser.add_argument("--reps", type=int, default=3, help="repetitions; the median is shown")
    parser.add_argument("--appenders", type=int, default=100, help="concurrent appenders")
    parser.add_argument(
        "--naive-events",
        type=int,
        default=3000,
        help="events for the one-commit-per-event baseline",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small numbers for a smoke test (5,000 events, 1 rep)"
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where to make the temporary directory (default: system temp)",
    )
    args = parser.parse_args(argv)
    began = time.perf_counter()
    if args.quick:
        args.events, args.reps, args.naive_events = 5000, 1, 300
    tasks = max(args.events // EVENTS_PER_TASK, args.appenders)
    total = tasks * EVENTS_PER_TASK
    reps = max(1, args.reps)

    cpus = machine.nproc()
    print("AMAS event store benchmark (bench/store.py)")
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"sqlite {sqlite3.sqlite_version}, {machine.versions('msgspec', 'aiosqlite')}, "
        f"nproc {cpus}, {platform.machine()}"
    )

    print(f"a bare 10M-step Python loop takes {bare_loop_seconds():.2f} s now")
    tmp = Path(tempfile.mkdtemp(prefix="amas-bench-store-", dir=args.dir))
    try:
        print(f"files in {tmp}; pragmas: {'; '.join(p.removeprefix('PRAGMA ') for p in PRAGMAS)}")
        lifecycles = [make_lifecycle(n) for n in range(tasks)]
        work = [lifecycles[i :: args.appenders] for i in range(args.appenders)]
        rows = build_rows(interleaved(work))
        naive_rows = rows[: min(args.naive_events, len(rows))]
        print(
            f"workload: {total:,} events = {tasks:,} task lifecycles x {EVENTS_PER_TASK} "
            f"events, {args.appenders} appenders, median of {reps} rep(s)\n"
        )

        ceiling = timed_reps(
            reps,
            lambda rep: raw_insert(fresh(tmp, "raw.db"), rows, RAW_BATCH),
            Result(f"raw sqlite3 executemany, {RAW_BATCH:,} rows/tx (ceiling)", total),
        )
        raw_facts = log_facts(tmp / "raw.db")
        naive = timed_reps(
            reps,
            lambda rep: raw_insert(fresh(tmp, "naive.db"), naive_rows, 1),
            Result("raw sqlite3, 1 tx per event (naive)", len(naive_rows)),
        )

        def appends(per_call: int, name: str, result: Result) -> Result:
            def run(rep: int) -> float:
                latencies: list[float] = []
                rate = asyncio.run(store_appends(fresh(tmp, name), work, per_call, latencies))
                count, _, commits = log_facts(tmp / name)
                if count != total:
                    raise RuntimeError(f"the store holds {count} events, not {total}")
                result.latencies_ms = [s * 1000 for s in latencies]
                result.note = f"~{total / max(commits, 1):,.0f} ev/commit"
                return rate

            return timed_reps(reps, run, result)

        single = appends(
            1,
            "store-1.db",
            Result(f"store.append, {args.appenders} appenders, 1 event/call", total),
        )
        store_facts = log_facts(tmp / "store-1.db")
        batched = appends(
            EVENTS_PER_TASK,
            "store-5.db",
            Result(
                f"store.append, {args.appenders} appenders, {EVENTS_PER_TASK} events/call", total
            ),
        )

        log_path = tmp / "store-1.db"
        rebuild = timed_reps(
            reps,
            lambda rep: asyncio.run(replay(log_path, fresh(tmp, "projections.db"), tasks)),
            Result("replay: rebuild(TasksProjection) read+decode+fold+write", total, writes=False),
        )
        decode = timed_reps(
            reps,
            lambda rep: asyncio.run(decode_only(log_path, total)),
            Result(f"read_all decode only, {READ_BATCH:,}/batch (context)", total, writes=False),
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"mean stored data+meta: {store_facts[1]:.0f} B/event (store), "
        f"{raw_facts[1]:.0f} B/event (raw rows)\n"
    )
    results = (ceiling, naive, single, batched, rebuild, decode)
    width = max(len(r.label) for r in results)
    print(
        f"{'what':<{width}}  {'events':>8}  {'median ev/s':>11}  {'of ceiling':>10}  "
        f"reps ev/s / notes"
    )
    for r in results:
        ratio = f"{r.median / ceiling.median:.2f}" if ceiling.median and r.writes else "-"
        notes = " ".join(f"{rate:,.0f}" for rate in r.rates)
        if r.latencies_ms:
            notes += (
                f"  | call p50 {percentile(r.latencies_ms, 0.5):.1f} ms, "
                f"p99 {percentile(r.latencies_ms, 0.99):.1f} ms, {r.note}"
            )
        print(f"{r.label:<{width}}  {r.events:>8,}  {r.median:>11,.0f}  {ratio:>10}  {notes}")

    ratio = single.median / ceiling.median if ceiling.median else 0.0
    append_ok = single.median >= TARGET_APPEND_RATE
    ratio_ok = ratio >= TARGET_CEILING_RATIO
    print()
    print(
        f"appends: {single.median:,.0f} ev/s  target >= {TARGET_APPEND_RATE:,}  "
        f"{verdict(append_ok)}  ({ratio:.2f} of ceiling, target >= {TARGET_CEILING_RATIO}  "
        f"{verdict(ratio_ok)})"
    )
    print(
        f"replay: {rebuild.median:,.0f} ev/s  target >= {TARGET_REPLAY_RATE:,}  "
        f"{verdict(rebuild.median >= TARGET_REPLAY_RATE)}"
    )
    print(
        f"(whole run {time.perf_counter() - began:.0f} s; "
        f"the bare loop takes {bare_loop_seconds():.2f} s at the end)"
    )
    if args.quick:
        print("(--quick: small numbers, a smoke test; rates are not comparable to a full run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
