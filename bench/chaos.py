"""Chaos run: tasks submitted over HTTP while the node and its nats-server are killed.

A real node (`amas serve`) runs as a subprocess on fixed loopback ports (chosen free at
start and kept across restarts) with its own data folder and a random admin key in
`AMAS_API_KEY`. Three things run at once in this process:

* **submitters**: a few coroutines POST echo tasks (`delay` 0-0.3 s, 2 steps) to
  `/api/v1/tasks` at a steady rate, each task with its own Idempotency-Key. A task
  counts as *acknowledged* only on a 2xx answer. Refused connections, 503s and
  timeouts while the node or NATS is down are expected: they are counted, and the
  submitter sends the same request again (same key, same body) after a short pause,
  so a task whose answer was lost is acknowledged by its retry, not created twice.
* **a subscriber**: a JetStream durable push consumer on stream `AMAS_EVENTS`, filter
  `task.*`, manual acks, on a NATS connection that reconnects for ever. It records each
  envelope's event_id (at-least-once: duplicates are counted and dropped). The stream
  and the consumer live in the data folder, so they outlive every kill; if the
  consumer is gone all the same it is made again under the same durable name.
* **a killer**: every `--interval` seconds, once the node is healthy again, it either
  SIGKILLs `amas serve` (its nats-server then gets SIGTERM from the kernel; the node is
  started again on the same ports and data folder) or SIGKILLs the nats-server alone
  (the node notices and starts it again by itself). Each cycle prints how long the node
  took to answer /health with NATS connected again, and to answer 2xx to a POST sent
  after the kill.

Then the killing and submitting stop, the run waits (bounded) for every acknowledged
task to end and for the subscriber to catch up, stops the node with SIGTERM, and reads
the truth from the log (`events.db`, read-only). It prints tasks acknowledged, tasks
found in the log, tasks completed (failed, requeued), the hash-chain check (`amas events
verify`), task.* events the subscriber never received, and last the three verdicts:

    acknowledged == found
    0 broken
    0 missed

The exit status is 1 if any of the three fails (2 if the node could not be started).
When events are missed, it says whether they reached the JetStream stream at all, and
where the relay's checkpoint stood.

Run from the repo root: `python bench/chaos.py` (5 node kills, 3 nats-server kills,
>= 2,000 tasks; about 1-2 minutes) or `python bench/chaos.py --quick` (2 + 1 kills,
~150 tasks; well under a minute, for CI).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import random
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/chaos.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import msgspec  # noqa: E402
import nats  # noqa: E402
from nats.aio.client import Client  # noqa: E402
from nats.aio.msg import Msg  # noqa: E402
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy  # noqa: E402
from nats.js.client import JetStreamContext  # noqa: E402
from nats.js.errors import NotFoundError  # noqa: E402

from amas.runtime.nats_server import free_port, process_alive, servers_using  # noqa: E402
from amas.runtime.relay import STREAM  # noqa: E402
from bench import machine, node_process  # noqa: E402

node_process.no_sniffio_retries()

TASKS_PATH = "/api/v1/tasks"
HEALTH_PATH = "/api/v1/health"
DURABLE = "amas-chaos"
TERMINAL = ("task.completed", "task.failed", "task.cancelled")
IDLE_GIVE_UP = 8.0
"""Seconds the relay and the consumer may both be idle with events still missing."""
ACK_WAIT = 5.0

clock = time.monotonic


class _Ref(msgspec.Struct):
    event_id: str
    type: str


_ref_decoder = msgspec.json.Decoder(_Ref)


class ChaosAborted(RuntimeError):
    """The node could not be started (again): nothing meaningful to count."""


# -- the node, restartable ---------------------------------------------------------------


@dataclass
class NodeProcess:
    data_dir: Path
    log: Path
    env: dict[str, str]
    port: int
    nats_port: int
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.nats_port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def spawn(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(
                f"\n===== chaos: start #{self.starts} at {time.strftime('%H:%M:%S')}"
                " =====\n".encode()
            )
            out.flush()
            self.process = node_process.spawn_serve(
                port=self.port,
                nats_port=self.nats_port,
                data_dir=self.data_dir,
                log=out,
                cwd=self.data_dir.parent,
                env=self.env,
            )

    async def healthy(self, client: httpx.AsyncClient, timeout: float) -> float:
        """Seconds until /health says 200 (every part running, NATS connected)."""
        began = clock()
        while clock() - began < timeout:
            if not self.alive():
                code = self.process.returncode if self.process else None
                raise ChaosAborted(f"amas serve exited with code {code}:\n{self.tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(HEALTH_PATH, timeout=2.0)).status_code == 200:
                    return clock() - began
            await asyncio.sleep(0.05)
        raise ChaosAborted(f"the node was not healthy within {timeout:g} s:\n{self.tail()}")

    async def nats_replaced(self, killed: Sequence[int], timeout: float) -> int:
        """Wait until a nats-server other than `killed` runs for this data folder."""
        deadline = clock() + timeout
        while clock() < deadline:
            if not self.alive():
                raise ChaosAborted(
                    f"amas serve exited while its nats-server was down:\n{self.tail()}"
                )
            fresh = [pid for pid in servers_using(self.data_dir) if pid not in killed]
            if fresh:
                return fresh[0]
            await asyncio.sleep(0.02)
        raise ChaosAborted(f"the node did not start its nats-server again within {timeout:g} s")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait()

    def stop(self, timeout: float = 30.0) -> str:
        if self.process is None or not self.alive():
            return "was not running"
        return node_process.stop(self.process, timeout)

    def tail(self, lines: int = 30) -> str:
        return node_process.log_tail(self.log, lines)


# -- submitters --------------------------------------------------------------------------


@dataclass
class Submissions:
    acknowledged: dict[str, tuple[float, float]] = field(default_factory=dict)
    """task id -> (when its POST went out, when its 2xx answer came), monotonic"""
    errors: Counter[str] = field(default_factory=Counter)
    attempts: int = 0
    retries: int = 0
    """POSTs sent again with the same Idempotency-Key after no answer or a 503"""


def _error_kind(e: Exception) -> str:
    if isinstance(e, httpx.ConnectError):
        return "connection refused"
    if isinstance(e, httpx.TimeoutException):
        return "timeout"
    if isinstance(e, (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)):
        return "connection dropped"
    return type(e).__name__


async def submitter(
    base_url: str, key: str, rate: float, stop: asyncio.Event, out: Submissions, rng: random.Random
) -> None:
    """POST echo tasks, one at a time, about `rate` per second, until `stop`.

    Each task has its own Idempotency-Key, and a submit that got no answer, or a 503, is
    sent again with the same key and body until it gets one: as a careful client would,
    so a command that went through but whose answer was lost is acknowledged by the
    retry instead of being made twice."""
    # Longer than the node's own 5 s command timeout: its answer is seen, not our timeout.
    async with httpx.AsyncClient(
        base_url=base_url, timeout=httpx.Timeout(10.0), headers={"X-API-Key": key}
    ) as client:
        pending: tuple[str, dict[str, object], float] | None = None
        while not stop.is_set():
            if pending is None:
                body: dict[str, object] = {
                    "task_type": "echo",
                    "parameters": {"delay": round(rng.uniform(0.0, 0.3), 3), "steps": 2},
                }
                pending = (f"chaos-{rng.getrandbits(64):016x}", body, clock())
            else:
                out.retries += 1
            idempotency_key, body, began = pending
            out.attempts += 1
            sent = clock()
            pause = 1.0 / rate
            try:
                response = await client.post(
                    TASKS_PATH, json=body, headers={"Idempotency-Key": idempotency_key}
                )
            except httpx.HTTPError as e:
                out.errors[_error_kind(e)] += 1
                pause = 0.2
            else:
                if 200 <= response.status_code < 300:
                    out.acknowledged[response.json()["task_id"]] = (began, clock())
                    pending = None
                else:
                    if response.status_code < 500 and response.status_code != 429:
                        pending = None  # refused for good: do not ask again
                    try:
                        error = response.json()["error"]
                        code = error["code"]
                        reason = (error.get("details") or {}).get("reason")
                        if reason:
                            code = f"{code} ({reason})"
                    except Exception:
                        code = "?"
                    out.errors[f"HTTP {response.status_code} {code}"] += 1
                    pause = 0.2
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), max(0.0, pause - (clock() - sent)))


# -- the task.* subscriber ---------------------------------------------------------------


class Subscriber:
    """A durable JetStream consumer on `task.*`: every event_id it was given."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.received: set[str] = set()
        self.deliveries = 0
        self.duplicates = 0
        self.undecodable = 0
        self.disconnects = 0
        self.recreated = 0
        self.errors: Counter[str] = Counter()
        self.nc: Client | None = None
        self.js: JetStreamContext | None = None
        self._sub: Any = None
        self._watch: asyncio.Task[None] | None = None

    async def on_msg(self, msg: Msg) -> None:
        self.deliveries += 1
        try:
            ref = _ref_decoder.decode(msg.data)
        except msgspec.DecodeError:
            self.undecodable += 1
        else:
            if ref.event_id in self.received:
                self.duplicates += 1
            else:
                self.received.add(ref.event_id)
        with contextlib.suppress(Exception):  # a lost ack only means a redelivery
            await msg.ack()

    async def start(self) -> None:
        async def disconnected() -> None:
            self.disconnects += 1

        async def error(e: Exception) -> None:
            self.errors[type(e).__name__] += 1

        self.nc = await nats.connect(
            self.url,
            name="amas-bench-chaos",
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            reconnect_time_wait=0.25,
            connect_timeout=2,
            ping_interval=5,
            max_outstanding_pings=2,
            disconnected_cb=disconnected,
            error_cb=error,
        )
        self.js = self.nc.jetstream(timeout=5)
        await self._subscribe()
        self._watch = asyncio.create_task(self._keep_consumer())

    async def _subscribe(self) -> None:
        assert self.js is not None
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        self._sub = await self.js.subscribe(
            "task.*",
            stream=STREAM,
            durable=DURABLE,
            cb=self.on_msg,
            manual_ack=True,
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=ACK_WAIT,
                max_ack_pending=10_000,
            ),
        )

    async def _keep_consumer(self) -> None:
        """If the durable consumer is gone (not merely unreachable), make it again."""
        assert self.js is not None
        while True:
            await asyncio.sleep(1.0)
            if self.nc is None or not self.nc.is_connected:
                continue
            try:
                await self.js.consumer_info(STREAM, DURABLE)
            except NotFoundError:
                try:
                    await self._subscribe()
                except Exception as e:
                    self.errors[f"re-create: {type(e).__name__}"] += 1
                else:
                    self.recreated += 1
                    print(
                        f"  subscriber: the durable consumer was gone; made again "
                        f"(#{self.recreated})",
                        flush=True,
                    )
            except Exception as e:
                self.errors[f"consumer_info: {type(e).__name__}"] += 1

    async def pending(self) -> tuple[int, int] | None:
        """(num_pending, num_ack_pending) of the consumer, if it can be asked now."""
        if self.js is None:
            return None
        try:
            info = await self.js.consumer_info(STREAM, DURABLE, timeout=2)
        except Exception:
            return None
        return info.num_pending or 0, info.num_ack_pending or 0

    async def stream_ids(self, timeout: float = 20.0) -> set[str] | None:
        """Every task.* event_id the stream holds now (an ordered consumer over it all)."""
        if self.js is None:
            return None
        try:
            info = await self.js.stream_info(STREAM, subjects_filter="task.*")
            wanted = sum((info.state.subjects or {}).values())
        except Exception:
            return None
        found: set[str] = set()
        done = asyncio.Event()

        async def collect(msg: Msg) -> None:
            with contextlib.suppress(msgspec.DecodeError):
                found.add(_ref_decoder.decode(msg.data).event_id)
            meta = msg.metadata
            if meta.num_pending == 0 or len(found) >= wanted:
                done.set()

        sub = await self.js.subscribe(
            "task.*",
            stream=STREAM,
            cb=collect,
            ordered_consumer=True,
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout)
        finally:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        return found

    async def close(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.nc.close(), 5.0)


# -- the log, read-only ------------------------------------------------------------------


@dataclass
class LogFacts:
    head: int
    task_events: dict[str, tuple[int, str]]
    """event_id -> (position, type) of every task.* event"""
    created: set[str]
    last_type: dict[str, str]
    """task id -> type of its last event"""
    requeued: set[str]
    attempts: Counter[str]
    relay_position: int | None
    relay_safe: int | None


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)


def read_log(data_dir: Path) -> LogFacts:
    db = _ro(data_dir / "events.db")
    try:
        head = db.execute("SELECT coalesce(max(position), 0) FROM events").fetchone()[0]
        rows = db.execute(
            "SELECT position, event_id, type, stream FROM events WHERE type LIKE 'task.%'"
            " ORDER BY position"
        ).fetchall()
    finally:
        db.close()
    facts = LogFacts(
        head=head,
        task_events={},
        created=set(),
        last_type={},
        requeued=set(),
        attempts=Counter(),
        relay_position=None,
        relay_safe=None,
    )
    for position, event_id, type_name, stream in rows:
        if type_name.count(".") != 1:  # `task.*` matches one token after `task.`
            continue
        facts.task_events[event_id] = (position, type_name)
        if type_name == "task.progress":
            continue
        facts.last_type[stream] = type_name
        if type_name == "task.created":
            facts.created.add(stream)
        elif type_name == "task.requeued":
            facts.requeued.add(stream)
        elif type_name == "task.started":
            facts.attempts[stream] += 1
    with contextlib.suppress(sqlite3.Error):
        relay = _ro(data_dir / "relay.db")
        try:
            row = relay.execute("SELECT position, safe_position FROM relay_checkpoint").fetchone()
        finally:
            relay.close()
        if row:
            facts.relay_position, facts.relay_safe = row
    return facts


def verify_chain(data_dir: Path, env: dict[str, str]) -> tuple[int, str]:
    """`amas events verify`: (exit code, its output)."""
    done = subprocess.run(
        [sys.executable, "-m", "amas.cli.main", "events", "verify", "--data-dir", str(data_dir)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    return done.returncode, (done.stdout + done.stderr).strip()


# -- the run -----------------------------------------------------------------------------


@dataclass
class Cycle:
    number: int
    kind: str
    at: float
    down: float = 0.0
    """node kill: seconds until the old process and its nats-server were gone"""
    back: float = 0.0
    """seconds from the kill until /health said 200 again"""
    first_ack: float | None = None
    """seconds from the kill until a POST sent after it was answered 2xx"""
    acknowledged_before: int = 0


KINDS = ("node", "nats-server", "both")


def describe(errors: Counter[str]) -> str:
    return ", ".join(f"{kind} {count:,}" for kind, count in errors.most_common()) or "none"


def kill_plan(node_kills: int, nats_kills: int, both_kills: int = 0) -> list[str]:
    """The kinds interleaved, node kills first: node nats-server both node nats-server ..."""
    plan: list[str] = []
    for i in range(max(node_kills, nats_kills, both_kills)):
        for kind, count in zip(KINDS, (node_kills, nats_kills, both_kills), strict=True):
            if i < count:
                plan.append(kind)
    return plan


async def wait_gone(pids: Sequence[int], timeout: float) -> bool:
    deadline = clock() + timeout
    while any(process_alive(p) for p in pids):
        if clock() > deadline:
            return False
        await asyncio.sleep(0.02)
    return True


async def run(args: argparse.Namespace, node: NodeProcess, began: float) -> int:
    key = node.env["AMAS_API_KEY"]
    rng = random.Random(args.seed)
    subs = Submissions()
    cycles: list[Cycle] = []
    stop_submitting = asyncio.Event()
    health = httpx.AsyncClient(base_url=node.base_url, timeout=2.0)
    api = httpx.AsyncClient(base_url=node.base_url, timeout=5.0, headers={"X-API-Key": key})
    subscriber = Subscriber(node.nats_url)
    workers: list[asyncio.Task[None]] = []

    async def first_ack_after(moment: float, timeout: float) -> float | None:
        """When the first POST sent after `moment` was answered 2xx (None: not in time)."""
        deadline = clock() + timeout
        while clock() < deadline:
            answers = [done for sent, done in subs.acknowledged.values() if sent >= moment]
            if answers:
                return min(answers)
            await asyncio.sleep(0.02)
        return None

    def stamp() -> str:
        return f"{clock() - began:6.1f}s"

    try:
        node.spawn()
        first = await node.healthy(health, args.start_timeout)
        pid = node.process.pid if node.process else "?"
        print(
            f"{stamp()}  node up in {first:.1f} s (pid {pid}, nats-server "
            f"{servers_using(node.data_dir)})",
            flush=True,
        )
        await subscriber.start()
        per_worker = args.rate / args.submitters
        workers = [
            asyncio.create_task(
                submitter(
                    node.base_url,
                    key,
                    per_worker,
                    stop_submitting,
                    subs,
                    random.Random(rng.random()),
                )
            )
            for _ in range(args.submitters)
        ]

        plan = kill_plan(args.node_kills, args.nats_kills, args.both_kills)
        errors_before = subs.errors.copy()
        for number, kind in enumerate(plan, 1):
            await asyncio.sleep(args.interval * rng.uniform(0.7, 1.3))
            cycle = Cycle(number, kind, clock() - began, acknowledged_before=len(subs.acknowledged))
            killed_at = clock()
            if kind in ("node", "both"):
                assert node.process is not None
                old_pid, old_nats = node.process.pid, servers_using(node.data_dir)
                if kind == "both":  # the server first: otherwise it gets a SIGTERM and flushes
                    for pid in old_nats:
                        with contextlib.suppress(ProcessLookupError):
                            os.kill(pid, signal.SIGKILL)
                node.kill()
                if not await wait_gone(old_nats, 20.0):
                    print(
                        f"  ! the killed node's nats-server {old_nats} still runs after 20 s",
                        flush=True,
                    )
                cycle.down = clock() - killed_at
                node.spawn()
                what = (
                    f"SIGKILL amas serve (pid {old_pid}); its nats-server {old_nats} gone "
                    f"in {cycle.down:.2f} s; started again (pid {node.process.pid})"
                )
                if kind == "both":
                    what = f"SIGKILL nats-server {old_nats}, then {what.removeprefix('SIGKILL ')}"
            else:
                pids = servers_using(node.data_dir)
                if not pids:
                    print(f"  ! no nats-server found for {node.data_dir}", flush=True)
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                replaced = await node.nats_replaced(pids, args.start_timeout)
                what = (
                    f"SIGKILL nats-server (pid {', '.join(map(str, pids))}); the node started "
                    f"it again in {clock() - killed_at:.2f} s (pid {replaced})"
                )
            await node.healthy(health, args.start_timeout)
            cycle.back = clock() - killed_at
            answered = await first_ack_after(killed_at, args.start_timeout)
            cycle.first_ack = None if answered is None else answered - killed_at
            cycles.append(cycle)
            acked = (
                f"NO 2xx within {args.start_timeout:g} s"
                if cycle.first_ack is None
                else f"first 2xx after {cycle.first_ack:.2f} s"
            )
            print(
                f"{stamp()}  cycle {number}/{len(plan)}: {what}; healthy again after "
                f"{cycle.back:.2f} s, {acked}; acknowledged so far {len(subs.acknowledged):,}, "
                f"submit errors since the last line: {describe(subs.errors - errors_before)}",
                flush=True,
            )
            errors_before = subs.errors.copy()

        # Submit on a while after the last restart, and until there are enough tasks.
        after_kills, deadline = clock(), clock() + args.max_seconds

        def more() -> bool:
            wanted = len(subs.acknowledged) < args.tasks or clock() - after_kills < args.interval
            return bool(wanted and clock() < deadline)

        while more():  # noqa: ASYNC110 (polls counters that the submitters bump)
            await asyncio.sleep(0.2)
        stop_submitting.set()
        await asyncio.gather(*workers)
        print(
            f"{stamp()}  submitting stopped: {len(subs.acknowledged):,} acknowledged of "
            f"{subs.attempts:,} POSTs",
            flush=True,
        )

        # Recovery: every acknowledged task ends, the subscriber catches up.
        await node.healthy(health, args.start_timeout)
        settle_began = clock()
        unfinished: int | None = None
        while clock() - settle_began < args.settle:
            try:
                totals = [
                    (await api.get(TASKS_PATH, params={"status": s, "limit": 1})).json()["total"]
                    for s in ("queued", "in_progress")
                ]
            except (httpx.HTTPError, KeyError, ValueError):
                totals = None
            if totals is not None:
                unfinished = sum(totals)
                if unfinished == 0:
                    break
            await asyncio.sleep(0.25)
        print(
            f"{stamp()}  tasks settled in {clock() - settle_began:.1f} s "
            f"({'all ended' if unfinished == 0 else f'{unfinished} still unfinished'})",
            flush=True,
        )

        # Caught up: it has every task.* event of the log. It never will once the relay has
        # had all of the log acknowledged and the consumer has nothing left to deliver: a
        # few seconds like that (past a redelivery's ack wait) end the wait early.
        catch_began = clock()
        caught_up = False
        idle_since: float | None = None
        while clock() - catch_began < args.settle:
            facts = read_log(node.data_dir)
            missing = facts.task_events.keys() - subscriber.received
            pending = await subscriber.pending()
            if not missing and pending == (0, 0):
                caught_up = True
                break
            if pending == (0, 0) and (facts.relay_position or 0) >= facts.head:
                idle_since = idle_since or clock()
                if clock() - idle_since > IDLE_GIVE_UP:
                    break
            else:
                idle_since = None
            await asyncio.sleep(0.25)
        facts = read_log(node.data_dir)
        missing_now = facts.task_events.keys() - subscriber.received
        print(
            f"{stamp()}  subscriber {'caught up' if caught_up else 'NOT caught up'} in "
            f"{clock() - catch_began:.1f} s ({len(subscriber.received):,} distinct task.* "
            f"events; consumer pending/unacked {await subscriber.pending()})",
            flush=True,
        )
        in_stream: set[str] | None = None
        if missing_now:
            in_stream = await subscriber.stream_ids()
    finally:
        stop_submitting.set()
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await subscriber.close()
        await health.aclose()
        await api.aclose()
        stopped = node.stop()
    print(f"{stamp()}  node {stopped}", flush=True)

    return report(args, node, subs, subscriber, cycles, in_stream, began)


def report(
    args: argparse.Namespace,
    node: NodeProcess,
    subs: Submissions,
    subscriber: Subscriber,
    cycles: list[Cycle],
    in_stream: set[str] | None,
    began: float,
) -> int:
    facts = read_log(node.data_dir)
    acked = set(subs.acknowledged)
    found = acked & facts.created
    lost = sorted(acked - facts.created)
    completed = {t for t in acked if facts.last_type.get(t) == "task.completed"}
    failed = {t for t in acked if facts.last_type.get(t) == "task.failed"}
    unfinished = {t for t in found if facts.last_type.get(t) not in TERMINAL}
    requeued = acked & facts.requeued
    extra = facts.created - acked
    code, verify_out = verify_chain(node.data_dir, node.env)
    broken = 0
    if code != 0:
        # Everything from the first bad position on is unverifiable.
        first_bad = next((int(w) for w in verify_out.split() if w.isdigit()), 1)
        broken = max(1, facts.head - first_bad + 1)
    missed = {e: facts.task_events[e] for e in facts.task_events.keys() - subscriber.received}

    kills = Counter(c.kind for c in cycles)
    log_text = node.log.read_text(errors="replace").splitlines()
    noisy = node_process.noisy_lines(log_text, ("ERROR", "CRITICAL", "Traceback"))

    print(
        f"\n{len(cycles)} kill cycles: {kills['node']} of amas serve (SIGKILL), "
        f"{kills['nats-server']} of its nats-server (SIGKILL)"
        + (f", {kills['both']} of both at once" if kills["both"] else "")
        + f"; node started {node.starts} times"
    )
    if cycles:
        backs = {kind: [c.back for c in cycles if c.kind == kind] for kind in KINDS}
        for kind, values in backs.items():
            if values:
                print(
                    f"  back after a {kind} kill: {min(values):.2f}-{max(values):.2f} s "
                    f"(mean {sum(values) / len(values):.2f} s), kill to /health 200"
                )
    print(
        f"submitters: {subs.attempts:,} POSTs ({subs.retries:,} of them retries with the same"
        f" Idempotency-Key), {len(acked):,} tasks answered 2xx; errors: " + describe(subs.errors)
    )
    print(
        f"subscriber: {subscriber.deliveries:,} deliveries, {len(subscriber.received):,} "
        f"distinct, {subscriber.duplicates:,} duplicates (at-least-once), "
        f"{subscriber.disconnects} disconnects, consumer re-made {subscriber.recreated} times"
        + (f", undecodable {subscriber.undecodable}" if subscriber.undecodable else "")
        + (f", errors {dict(subscriber.errors)}" if subscriber.errors else "")
    )
    print(
        f"log: {facts.head:,} events, {len(facts.task_events):,} task.* events; relay "
        f"checkpoint {facts.relay_position} (safe {facts.relay_safe}); node log "
        f"{len(noisy)} error lines"
    )
    print()
    print(f"tasks acknowledged:                {len(acked):,}")
    print(
        f"tasks found after recovery:        {len(found):,}"
        + (
            f"  (+{len(extra):,} created whose POST got no 2xx: the command went through, "
            "its answer did not)"
            if extra
            else ""
        )
    )
    print(
        f"tasks completed:                   {len(completed):,}  ({len(failed):,} failed, "
        f"{len(unfinished):,} unfinished; {len(requeued):,} were requeued, "
        f"{sum(1 for t in acked if facts.attempts[t] > 1):,} started more than once)"
    )
    print(f"events whose hash chain fails:     {broken:,}  (`amas events verify`: {verify_out})")
    print(f"events a task.* subscriber missed: {len(missed):,}  (of {len(facts.task_events):,})")

    if lost:
        print(
            f"\n! acknowledged but not in the log: {', '.join(lost[:10])}"
            + (" ..." if len(lost) > 10 else "")
        )
    if missed:
        print(f"\n! task.* events never received by the durable consumer ({len(missed)}):")
        not_in_stream = None if in_stream is None else {e for e in missed if e not in in_stream}
        if not_in_stream is not None:
            print(
                f"  {len(not_in_stream)} of them are not in the stream {STREAM} at all "
                f"(never published, or lost by a killed nats-server); "
                f"{len(missed) - len(not_in_stream)} are in the stream but were not delivered"
            )
        for event_id, (position, type_name) in sorted(missed.items(), key=lambda kv: kv[1])[:20]:
            where = (
                ""
                if in_stream is None
                else ("  in stream" if event_id in in_stream else "  NOT in stream")
            )
            print(f"  position {position:>7}  {type_name:<16} {event_id}{where}")
        if len(missed) > 20:
            print(f"  ... and {len(missed) - 20} more")
    if lost or missed or broken:
        print("node log, last lines:\n" + node.tail(30))
        print(f"(node log: {node.log})")

    print(f"\n(whole run {clock() - began:.0f} s)")
    if args.quick:
        print("(--quick: small numbers, for CI)")
    if len(cycles) < len(kill_plan(args.node_kills, args.nats_kills, args.both_kills)):
        print("! fewer kill cycles than planned")
    if len(acked) < args.tasks:
        print(f"! only {len(acked):,} tasks acknowledged, fewer than --tasks {args.tasks:,}")
    print(
        "acknowledged == found"
        if not lost
        else f"acknowledged != found: {len(acked)} vs {len(found)}"
    )
    print(f"{broken} broken")
    print(f"{len(missed)} missed")
    return 1 if lost or broken or missed else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--node-kills", type=int, default=5, help="SIGKILLs of amas serve (default 5)"
    )
    parser.add_argument(
        "--nats-kills", type=int, default=3, help="SIGKILLs of its nats-server alone (default 3)"
    )
    parser.add_argument(
        "--both-kills",
        type=int,
        default=0,
        help="SIGKILLs of the nats-server and then at once of amas serve, so "
        "that neither shuts down cleanly (default 0)",
    )
    parser.add_argument(
        "--tasks",
        type=int,
        default=2000,
        help="go on submitting (without kills) until this many are acknowledged (default 2,000)",
    )
    parser.add_argument(
        "--rate",
        type=float,
        default=120.0,
        help="submits per second, all submitters together (default 120)",
    )
    parser.add_argument(
        "--submitters", type=int, default=4, help="concurrent submitting coroutines (default 4)"
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=4.0,
        help="seconds of healthy running between kills, +-30%% (default 4)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=60.0,
        help="at most this long for the tasks to end, and again for the "
        "subscriber to catch up (default 60 s)",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=60.0,
        help="at most this long for the node to be healthy (default 60 s)",
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="after the kills, submit at most this long to reach --tasks",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random)")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small numbers for CI: 2 node kills, 1 nats-server kill, 150 tasks",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the temporary directory (node log, data) and print it",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where to make the temporary directory (default: system temp)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.node_kills, args.nats_kills, args.tasks = 2, 1, 150
        args.rate, args.interval = 40.0, 2.0
    if args.seed is None:
        args.seed = secrets.randbelow(2**31)
    args.submitters = max(1, args.submitters)
    began = clock()

    print(
        "AMAS chaos run (bench/chaos.py): HTTP submits while amas serve and its nats-server "
        "are SIGKILLed"
    )
    print(
        f"python {platform.python_version()}, nats-server {machine.nats_server_version()}, "
        f"{machine.versions('nats-py', 'httpx')}; loopback only"
    )
    plan = " ".join(kill_plan(args.node_kills, args.nats_kills, args.both_kills))
    print(
        f"plan: {plan}, one every ~{args.interval:g} s of healthy running; "
        f"{args.submitters} submitters at {args.rate:g}/s in all, >= {args.tasks:,} tasks; "
        f"seed {args.seed}",
        flush=True,
    )

    tmp = Path(tempfile.mkdtemp(prefix="amas-bench-chaos-", dir=args.dir)).resolve()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMAS_")}
    env["AMAS_API_KEY"] = f"chaos-admin-{secrets.token_urlsafe(24)}"  # this run only
    node = NodeProcess(
        data_dir=tmp / "data",
        log=tmp / "node.log",
        env=env,
        port=free_port(),
        nats_port=free_port(),
    )
    try:
        try:
            return asyncio.run(run(args, node, began))
        except ChaosAborted as e:
            print(f"chaos run aborted: {e}", file=sys.stderr)
            return 2
    finally:
        if node.alive():
            node.kill()
        for pid in servers_using(node.data_dir):  # never leave one behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
