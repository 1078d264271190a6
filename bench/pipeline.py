"""Benchmark of the whole task pipeline: echo tasks from submit to `task.completed`.

A real node (`amas serve`) runs as a subprocess with its embedded nats-server, a
temporary data folder and free loopback ports, so that the load generator (this
process) does not share the node's interpreter. This process connects to the node's
NATS, subscribes to `task.completed` and `task.failed`, and records when each task's
terminal event arrives. Two paths in:

1. **NATS**: `SubmitTask(task_type="echo")` as a msgpack request on
   `amas.cmd.task.submit`, as the API itself sends it.
2. **HTTP**: `POST /api/v1/tasks` through the FastAPI edge (which sends the same
   command, then waits for the projection: read-your-writes). The load generator
   sends it with bench/http_raw.py, a minimal keep-alive HTTP/1.1 client (~0.1 ms of
   CPU per POST here), not httpx (~1.9 ms: on 2 cores it took 50-68% of a core from
   the node it measures); `--http-client httpx` uses httpx, to compare.

Each path is run twice:

* **saturated**: a closed loop with a window of outstanding submits (`--nats-window`,
  `--http-connections`). Throughput = completed tasks / (last completion - first
  submit); the latencies of this run include queueing and are shown for context.
* **paced**: an open loop at a fixed fraction (`--paced-fraction`, 0.5) of the
  saturated rate just measured: submits go out on a fixed schedule whatever the
  replies do. Its p99 is the one the latency target is about.

Latency = arrival of the task's terminal event here - the moment just before its submit
was sent, both on this process's monotonic clock. Every accepted task must reach a
terminal event: the run waits for all of them (giving up after `--stall` seconds
without progress) and reports completed, failed, rejected, erroneous and missing
tasks; any loss makes the exit status 1 (2 if the node could not start or died; the
tail of its log is printed). Also shown: the submit's own reply time ("ack"), and the
CPU used during each run, from /proc, by the node (and by its event-loop thread alone),
its nats-server, this process and everything else on the machine; on 2 cores they all
share, so a run where other processes used more than 15% of a core is flagged.

Targets (from the issue): >= 1,000 tasks/s via NATS, >= 500 tasks/s via HTTP, p99
under 50 ms at half that rate.

Run from the repo root: `python bench/pipeline.py` (about 1-3 minutes) or
`python bench/pipeline.py --quick` (a smoke test, well under a minute).
`python bench/pipeline.py --tracing [--ratio R] [--baseline REF]` measures what
tracing costs instead (bench/tracing_ab.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import platform
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/pipeline.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

ADMIN_KEY = f"bench-{secrets.token_urlsafe(16)}"
"""Made for this run; the node accepts it as its AMAS_API_KEY."""
import msgspec  # noqa: E402
import nats  # noqa: E402
from nats.aio.client import Client  # noqa: E402
from nats.aio.msg import Msg  # noqa: E402

from amas.runtime.nats_server import free_port  # noqa: E402
from bench import http_raw, machine, node_process  # noqa: E402
from bench.figures import med, percentile, verdict  # noqa: E402
from bench.node_process import BenchAborted  # noqa: E402
from events.commands import SUBMIT_TASK, SubmitTask, command_encoder, reply_decoder  # noqa: E402

node_process.no_sniffio_retries()

TARGET_NATS_RATE = 1000.0
TARGET_HTTP_RATE = 500.0
TARGET_P99_MS = 50.0
NOISY_OTHER_CPU = 0.15
"""More CPU than this (share of one core) used by other processes makes a run suspect."""

TERMINAL_SUBJECTS = ("task.completed", "task.failed")
TASKS_PATH = "/api/v1/tasks"
HEALTH_PATH = "/api/v1/health"

clock = time.perf_counter


# -- what arrives: only the fields needed, so the load generator stays cheap ------------


class _TaskRef(msgspec.Struct):
    task_id: str


class _Envelope(msgspec.Struct):
    """The public event envelope (events/envelope.py), reduced to what is read here."""

    type: str
    data: _TaskRef


_envelope_decoder = msgspec.json.Decoder(_Envelope)
_json_encoder = msgspec.json.Encoder()
_json_decoder = msgspec.json.Decoder()


class Completions:
    """First arrival of each task's terminal event (the relay delivers at least once)."""

    def __init__(self) -> None:
        self.arrived: dict[str, tuple[float, str]] = {}
        self.duplicates = 0
        self.undecodable = 0

    async def on_event(self, msg: Msg) -> None:
        now = clock()
        try:
            event = _envelope_decoder.decode(msg.data)
        except msgspec.DecodeError:
            self.undecodable += 1
            return
        if event.data.task_id in self.arrived:
            self.duplicates += 1
        else:
            self.arrived[event.data.task_id] = (now, event.type)


# -- CPU of the processes involved, from /proc (bench/machine.py) -----------------------


@dataclass
class CpuProbe:
    """CPU seconds of the node (all threads, and its event-loop thread alone), its
    nats-server and this process; `sample()` returns the totals so far."""

    node_pid: int
    nats_pid: int | None

    def sample(self) -> dict[str, float]:
        out = {
            "node": machine.cpu_seconds(self.node_pid),
            "loop": machine.cpu_seconds(self.node_pid, thread=self.node_pid),
            "gen": machine.own_cpu_seconds(),
        }
        if self.nats_pid is not None:
            out["nats"] = machine.cpu_seconds(self.nats_pid)
        busy = machine.machine_busy_seconds()
        if busy is not None:
            out["machine"] = busy
        return out


# -- one run ---------------------------------------------------------------------------


@dataclass
class Run:
    label: str
    requested: int
    submitted: dict[str, float] = field(default_factory=dict)
    """task id -> the moment just before its submit went out"""
    rejected: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    acks: list[float] = field(default_factory=list)
    """accepted submits: send -> reply (s); the NATS reply or the HTTP 201"""
    lags: list[float] = field(default_factory=list)
    """paced runs: how late each submit went out against its schedule (s)"""
    started: float = 0.0
    sent: float = 0.0
    ended: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    """per process: CPU seconds used / wall seconds of the run (1.0 = one core)"""
    completed: dict[str, float] = field(default_factory=dict)
    """task id -> latency (s), tasks whose terminal event is task.completed"""
    failed: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    target_rate: float = 0.0
    busiest_others: list[tuple[str, float]] = field(default_factory=list)
    """other processes that used the most CPU during the run (share of one core)"""

    def settle(self, completions: Completions) -> None:
        for task_id, submitted in self.submitted.items():
            arrival = completions.arrived.get(task_id)
            if arrival is None:
                self.missing.append(task_id)
            elif arrival[1] == "task.completed":
                self.completed[task_id] = arrival[0] - submitted
            else:
                self.failed.append(task_id)
        arrivals = [completions.arrived[t][0] for t in self.submitted if t in completions.arrived]
        self.ended = max(arrivals, default=self.started)

    @property
    def rate(self) -> float:
        elapsed = self.ended - self.started
        return len(self.completed) / elapsed if elapsed > 0 else 0.0

    def latency_ms(self, q: float) -> float:
        return percentile(list(self.completed.values()), q) * 1000

    @property
    def lost(self) -> int:
        """Submits that did not end in task.completed, whatever the reason."""
        return self.requested - len(self.completed)

    def problems(self) -> list[str]:
        out = []
        if self.failed:
            out.append(f"{len(self.failed)} failed (e.g. {self.failed[0]})")
        if self.rejected:
            out.append(f"{sum(self.rejected.values())} rejected {dict(self.rejected)}")
        if self.errors:
            out.append(f"{sum(self.errors.values())} submit errors {dict(self.errors)}")
        if self.missing:
            out.append(
                f"{len(self.missing)} accepted but never finished "
                f"(e.g. {', '.join(self.missing[:3])})"
            )
        return out


Send = Callable[[int, Run], Awaitable[None]]


def nats_sender(nc: Client, timeout: float) -> Send:
    async def send(i: int, run: Run) -> None:
        payload = command_encoder.encode(SubmitTask(task_type="echo", parameters={"n": i}))
        started = clock()
        try:
            msg = await nc.request(SUBMIT_TASK, payload, timeout=timeout)
            reply = reply_decoder.decode(msg.data)
        except Exception as e:  # counted and reported: a benchmark must not hide errors
            run.errors[type(e).__name__] += 1
            return
        if reply.ok:
            run.submitted[reply.data["task_id"]] = started
            run.acks.append(clock() - started)
        else:
            run.rejected[reply.code or "?"] += 1

    return send


class HttpPoster(Protocol):
    """POSTs a JSON body to the node's task route; returns (status, body)."""

    name: str

    async def open(self) -> None: ...

    async def post(self, body: bytes) -> tuple[int, bytes]: ...

    async def aclose(self) -> None: ...


class RawClients:
    """`size` keep-alive connections of bench/http_raw.py, lent out one request at a time.

    The request is prebuilt up to its Content-Length; only the length and the body are
    added per request, so the generator spends ~0.1 ms of CPU per POST instead of httpx's
    ~1.9 ms, and leaves the 2 cores to the node.
    """

    name = "the minimal asyncio HTTP/1.1 client of bench/http_raw.py"

    def __init__(self, base_url: str, size: int, timeout: float) -> None:
        url = httpx.URL(base_url)
        host, port = url.host, url.port or 80
        self.pool = http_raw.Pool(host, port, size)
        self.timeout = timeout
        self.prefix = (
            f"POST {TASKS_PATH} HTTP/1.1\r\nhost: {host}:{port}\r\n"
            f"content-type: application/json\r\nx-api-key: {ADMIN_KEY}\r\n"
            "user-agent: amas-bench-pipeline\r\ncontent-length: "
        ).encode()

    async def open(self) -> None:
        await self.pool.open()  # connect before any clock starts, as httpx's warm-up does

    async def post(self, body: bytes) -> tuple[int, bytes]:
        request = b"%s%d\r\n\r\n%s" % (self.prefix, len(body), body)
        answer = await self.pool.fetch(request, self.timeout)
        return answer.status, answer.body

    async def aclose(self) -> None:
        await self.pool.close()


class HttpxClients:
    """`size` keep-alive connections, one httpx client each, lent out one at a time.

    One client with a pool of 64 connections spends O(connections x waiting requests)
    in httpcore's pool bookkeeping per request: more CPU in this process than the
    requests themselves. Single-connection clients keep that O(1).
    """

    name = "httpx"

    def __init__(self, base_url: str, size: int, timeout: float) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        # Plain HTTP on loopback; one TLS context for all, not 50 ms of CA loading per client.
        tls = ssl.create_default_context()
        self.clients = [
            httpx.AsyncClient(
                base_url=base_url, limits=limits, verify=tls, timeout=httpx.Timeout(timeout)
            )
            for _ in range(size)
        ]
        self.idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self.clients:
            self.idle.put_nowait(client)

    async def open(self) -> None:
        pass  # each client connects on its first request (the warm-up)

    async def post(self, body: bytes) -> tuple[int, bytes]:
        client = await self.idle.get()
        try:
            response = await client.post(
                TASKS_PATH,
                content=body,
                headers={"content-type": "application/json", "x-api-key": ADMIN_KEY},
            )
            return response.status_code, response.content
        finally:
            self.idle.put_nowait(client)

    async def aclose(self) -> None:
        for client in self.clients:
            await client.aclose()


def http_sender(clients: HttpPoster) -> Send:
    async def send(i: int, run: Run) -> None:
        body = _json_encoder.encode({"task_type": "echo", "parameters": {"n": i}})
        started = clock()  # before waiting for a free connection: that wait is latency too
        try:
            status, content = await clients.post(body)
        except Exception as e:
            run.errors[type(e).__name__] += 1
            return
        if status == 201:
            run.submitted[_json_decoder.decode(content)["task_id"]] = started
            run.acks.append(clock() - started)
        else:
            try:
                code = _json_decoder.decode(content)["error"]["code"]
            except Exception:
                code = "?"
            run.rejected[f"HTTP {status} {code}"] += 1

    return send


CLIENTS: dict[str, type[RawClients] | type[HttpxClients]] = {
    "raw": RawClients,
    "httpx": HttpxClients,
}


async def saturated(send: Send, run: Run, window: int) -> None:
    """Closed loop: `window` submits outstanding at any time until `run.requested`."""
    numbers: Iterator[int] = iter(range(run.requested))

    async def worker() -> None:
        for i in numbers:  # one shared iterator: each number is sent once
            await send(i, run)

    run.started = clock()
    await asyncio.gather(*(worker() for _ in range(min(window, run.requested))))
    run.sent = clock()


async def paced(send: Send, run: Run, rate: float) -> None:
    """Open loop: submit i goes out at start + i / rate, whatever the replies do."""
    pending: set[asyncio.Task[None]] = set()

    async def timed(i: int, due: float) -> None:
        run.lags.append(clock() - due)
        await send(i, run)

    run.started = start = clock()
    for i in range(run.requested):
        due = start + i / rate
        delay = due - clock()
        await asyncio.sleep(max(delay, 0.0))  # 0 still yields: the sends must get to run
        task = asyncio.create_task(timed(i, due))
        pending.add(task)
        task.add_done_callback(pending.discard)
    await asyncio.gather(*pending)
    run.sent = clock()


def closed_loop(send: Send, window: int) -> Callable[[Run], Awaitable[None]]:
    return lambda run: saturated(send, run, window)


def open_loop(send: Send, rate: float) -> Callable[[Run], Awaitable[None]]:
    return lambda run: paced(send, run, rate)


async def finish(run: Run, completions: Completions, stall: float) -> None:
    """Wait until every accepted task has a terminal event, or nothing moved for `stall` s."""
    waiting = set(run.submitted)
    last_progress = clock()
    while waiting:
        before = len(waiting)
        waiting = {t for t in waiting if t not in completions.arrived}
        if len(waiting) < before:
            last_progress = clock()
        elif clock() - last_progress > stall:
            break
        await asyncio.sleep(0.05)
    run.settle(completions)


async def measure(
    label: str,
    requested: int,
    go: Callable[[Run], Awaitable[None]],
    completions: Completions,
    probe: CpuProbe,
    stall: float,
    target_rate: float = 0.0,
) -> Run:
    run = Run(label=label, requested=requested, target_rate=target_rate)
    others_before = machine.processes()
    before, wall = probe.sample(), clock()
    await go(run)
    await finish(run, completions, stall)
    after, wall = probe.sample(), clock() - wall
    run.cpu = machine.shares(before, after, wall, ours=("node", "nats", "gen"))
    if "other" in run.cpu:
        mine = (probe.node_pid, probe.nats_pid)
        run.busiest_others = machine.busiest_others(others_before, mine, wall)
    return run


# -- the node --------------------------------------------------------------------------


@dataclass
class NodeProcess:
    process: subprocess.Popen[bytes]
    log: Path
    base_url: str
    nats_url: str
    nats_pid: int | None = None

    def tail(self, lines: int = 40) -> str:
        return node_process.log_tail(self.log, lines, prefix="")

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 30.0) -> str:
        if not self.alive():
            return f"had already exited with code {self.process.returncode}"
        return node_process.stop(self.process, timeout)


async def start_node(
    tmp: Path, timeout: float = 60.0, env: dict[str, str] | None = None, cwd: Path = ROOT
) -> NodeProcess:
    """`amas serve` of the code in `cwd` with its data in `tmp`; `env` adds variables (the
    AMAS_* and OTEL_* ones of this process are not passed on)."""
    port, nats_port = free_port(), free_port()
    log = tmp / "node.log"
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AMAS_", "OTEL_"))}
    environ["AMAS_API_KEY"] = ADMIN_KEY  # an admin key: enterprise tier, no rate limit
    environ.update(env or {})
    with log.open("wb") as out:
        process = node_process.spawn_serve(
            port=port, nats_port=nats_port, data_dir=tmp / "data", log=out, cwd=cwd, env=environ
        )
    node = NodeProcess(process, log, f"http://127.0.0.1:{port}", f"nats://127.0.0.1:{nats_port}")
    deadline = clock() + timeout
    async with httpx.AsyncClient(base_url=node.base_url, timeout=2.0) as client:
        while clock() < deadline:
            if not node.alive():
                raise BenchAborted(
                    f"the node exited with code {process.returncode} while starting:\n{node.tail()}"
                )
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(HEALTH_PATH)).status_code == 200:
                    break
            await asyncio.sleep(0.1)
        else:
            node.stop()
            raise BenchAborted(f"the node was not healthy within {timeout:g} s:\n{node.tail()}")
    node.nats_pid = machine.nats_child(process.pid)
    return node


# -- the run ---------------------------------------------------------------------------


@dataclass
class PathResult:
    name: str
    how: str
    target_rate: float
    saturated: list[Run] = field(default_factory=list)
    paced: list[Run] = field(default_factory=list)


def print_path(result: PathResult) -> None:
    print(f"\nvia {result.name}: {result.how}")
    header = (
        f"  {'run':<30} {'tasks':>6} {'done':>6} {'tasks/s':>8} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'ack p50/p99':>12}  "
        "CPU: node (loop) nats-server generator other"
    )
    print(header)
    for runs in (result.saturated, result.paced):
        if not runs:
            continue
        last = runs[-1]
        cpu = last.cpu
        nats_cpu = f"{cpu['nats']:.0%}" if "nats" in cpu else "?"
        other_cpu = f"{cpu['other']:.0%}" if "other" in cpu else "?"
        ack = (
            f"{med([percentile(r.acks, 0.5) for r in runs]) * 1000:.1f}/"
            f"{med([percentile(r.acks, 0.99) for r in runs]) * 1000:.1f}"
        )
        print(
            f"  {last.label:<30} {med([r.requested for r in runs]):>6,.0f} "
            f"{med([len(r.completed) for r in runs]):>6,.0f} "
            f"{med([r.rate for r in runs]):>8,.0f} "
            f"{med([r.latency_ms(0.5) for r in runs]):>7.1f} "
            f"{med([r.latency_ms(0.99) for r in runs]):>7.1f} "
            f"{med([r.latency_ms(1.0) for r in runs]):>7.1f} "
            f"{ack:>12}  "
            f"{cpu.get('node', 0):.0%} ({cpu.get('loop', 0):.0%}) {nats_cpu} "
            f"{cpu.get('gen', 0):.0%} {other_cpu}"
        )
        if len(runs) > 1:
            print(
                f"  {'':<30} reps tasks/s: {' '.join(f'{r.rate:,.0f}' for r in runs)}; "
                f"p99 ms: {' '.join(f'{r.latency_ms(0.99):.1f}' for r in runs)}"
            )
        for run in runs:
            if run.lags:
                # Latency counts from the actual send, so a late send does not inflate it; it
                # does make the offered load burstier than the schedule, which matters only
                # when the lag is not small next to the latencies measured.
                late = percentile(run.lags, 0.99) * 1000
                sent_rate = (
                    run.requested / (run.sent - run.started) if run.sent > run.started else 0.0
                )
                if late > max(2.0, 0.1 * run.latency_ms(0.99)) or (
                    run.target_rate and sent_rate < 0.95 * run.target_rate
                ):
                    print(
                        f"  ! {run.label}: the generator fell behind its schedule "
                        f"(p99 {late:.1f} ms late; submits took {sent_rate:,.0f}/s)"
                    )
            if run.cpu.get("other", 0.0) > NOISY_OTHER_CPU:
                busiest = ", ".join(f"{name!r} {share:.0%}" for name, share in run.busiest_others)
                print(
                    f"  ! {run.label}: other processes used {run.cpu['other']:.0%} of a core "
                    f"meanwhile ({busiest or 'short-lived ones'}): these numbers are disturbed"
                )
            for problem in run.problems():
                print(f"  ! {run.label}: {problem}")


async def bench(args: argparse.Namespace, tmp: Path) -> tuple[list[PathResult], NodeProcess, int]:
    node = await start_node(tmp)
    completions = Completions()
    results: list[PathResult] = []
    lost = 0
    try:
        probe = CpuProbe(node.process.pid, node.nats_pid)
        nats_errors: list[Exception] = []

        async def on_nats_error(e: Exception) -> None:
            if not nats_errors:  # the first one says it; the rest are its echoes
                print(f"! NATS connection: {e!r}", flush=True)
            nats_errors.append(e)

        nc = await nats.connect(
            node.nats_url,
            name="amas-bench-pipeline",
            pending_size=64 * 1024 * 1024,
            allow_reconnect=False,
            error_cb=on_nats_error,
        )
        http: HttpPoster = CLIENTS[args.http_client](
            node.base_url, args.http_connections, args.timeout
        )
        try:
            await http.open()
            for subject in TERMINAL_SUBJECTS:
                await nc.subscribe(
                    subject, cb=completions.on_event, pending_msgs_limit=-1, pending_bytes_limit=-1
                )
            await nc.flush()
            paths = (
                (
                    "NATS",
                    f"request/reply on {SUBMIT_TASK} (msgpack)",
                    TARGET_NATS_RATE,
                    nats_sender(nc, args.timeout),
                    args.nats_window,
                    args.nats_tasks,
                    f"window {args.nats_window}",
                ),
                (
                    "HTTP",
                    f"POST {TASKS_PATH} (JSON, keep-alive) with {http.name}",
                    TARGET_HTTP_RATE,
                    http_sender(http),
                    args.http_connections,
                    args.http_tasks,
                    f"{args.http_connections} connections",
                ),
            )
            for name, how, target, send, window, tasks, window_label in paths:
                warm = await measure(
                    f"{name} warm-up",
                    args.warmup,
                    closed_loop(send, min(window, 20)),
                    completions,
                    probe,
                    args.stall,
                )
                lost += warm.lost
                if warm.problems() or not node.alive():
                    print(
                        f"! {name} warm-up: {'; '.join(warm.problems()) or 'node died'}", flush=True
                    )
                result = PathResult(name, how, target)
                results.append(result)
                for _ in range(args.reps):
                    result.saturated.append(
                        await measure(
                            f"saturated, {window_label}",
                            tasks,
                            closed_loop(send, window),
                            completions,
                            probe,
                            args.stall,
                        )
                    )
                    lost += result.saturated[-1].lost
                    if not node.alive():
                        raise BenchAborted(f"the node died (exit code {node.process.returncode})")
                rate = med([r.rate for r in result.saturated]) * args.paced_fraction
                if rate <= 0:
                    print(f"! {name}: no task completed; no paced run", flush=True)
                    continue
                count = max(1, round(rate * args.paced_seconds))
                for _ in range(args.reps):
                    result.paced.append(
                        await measure(
                            f"paced at {args.paced_fraction:.0%} = {rate:,.0f}/s",
                            count,
                            open_loop(send, rate),
                            completions,
                            probe,
                            args.stall,
                            target_rate=rate,
                        )
                    )
                    lost += result.paced[-1].lost
                    if not node.alive():
                        raise BenchAborted(f"the node died (exit code {node.process.returncode})")
                print(
                    f"({name} done: {med([r.rate for r in result.saturated]):,.0f} tasks/s"
                    " saturated)",
                    flush=True,
                )
        finally:
            await http.aclose()
            with contextlib.suppress(Exception):
                await nc.drain()
        if completions.undecodable:
            print(f"! {completions.undecodable} terminal events could not be decoded")
        if completions.duplicates:
            print(
                f"({completions.duplicates} terminal events arrived more than once; "
                "the first arrival counts)"
            )
    except BaseException:
        print(f"the node's log ({node.log}), last lines:\n{node.tail()}", file=sys.stderr)
        print(f"node {node.stop()}", file=sys.stderr)
        raise
    return results, node, lost


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--nats-tasks", type=int, default=5000, help="tasks in a saturated NATS run (default 5,000)"
    )
    parser.add_argument(
        "--http-tasks", type=int, default=3000, help="tasks in a saturated HTTP run (default 3,000)"
    )
    parser.add_argument(
        "--nats-window",
        type=int,
        default=200,
        help="outstanding NATS submit requests when saturated (default 200)",
    )
    parser.add_argument(
        "--http-connections",
        type=int,
        default=64,
        help="HTTP connections = outstanding POSTs when saturated (default 64)",
    )
    parser.add_argument(
        "--http-client",
        choices=tuple(CLIENTS),
        default="raw",
        help="HTTP load generator: a minimal asyncio HTTP/1.1 client (raw, "
        "default; ~0.1 ms of CPU per POST) or httpx (~1.9 ms per POST)",
    )
    parser.add_argument(
        "--paced-fraction",
        type=float,
        default=0.5,
        help="paced rate as a fraction of the measured rate (default 0.5)",
    )
    parser.add_argument(
        "--paced-seconds", type=float, default=10.0, help="length of a paced run (default 10 s)"
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=200,
        help="unreported tasks per path before measuring (default 200)",
    )
    parser.add_argument("--reps", type=int, default=1, help="repetitions; medians are shown")
    parser.add_argument(
        "--timeout", type=float, default=10.0, help="timeout of one submit request (default 10 s)"
    )
    parser.add_argument(
        "--stall",
        type=float,
        default=20.0,
        help="give up waiting for completions after this many seconds without one (default 20)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small numbers for a smoke test (300 tasks per path, 3 s paced)",
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
    from bench import tracing_ab  # it builds on this module

    tracing_ab.add_arguments(parser)
    args = parser.parse_args(argv)
    began = clock()
    if args.quick:
        args.nats_tasks, args.http_tasks, args.reps = 300, 300, 1
        args.paced_seconds, args.warmup, args.rounds = 3.0, 50, 2
    args.reps = max(1, args.reps)
    if args.tracing:
        return tracing_ab.main(args)

    cpus = machine.nproc()
    print("AMAS pipeline benchmark (bench/pipeline.py): echo tasks, submit -> task.completed")
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        f"nats-server {machine.nats_server_version()}, "
        + machine.versions("nats-py", "httpx", "uvicorn", "fastapi", "msgspec")
    )
    print(
        f"nproc {cpus}, {machine.cpu_model()}, {platform.machine()}; node: `amas serve` "
        "subprocess, embedded nats-server, loopback only; load generator: this process, "
        f"HTTP client: {CLIENTS[args.http_client].name}"
    )
    print(
        f"saturated: {args.nats_tasks:,} tasks via NATS, {args.http_tasks:,} via HTTP; "
        f"paced: {args.paced_seconds:g} s at {args.paced_fraction:.0%} of the measured rate; "
        f"{args.warmup} warm-up tasks per path; median of {args.reps} rep(s)",
        flush=True,
    )

    tmp = Path(tempfile.mkdtemp(prefix="amas-bench-pipeline-", dir=args.dir))
    try:
        try:
            results, node, lost = asyncio.run(bench(args, tmp))
        except BenchAborted as e:
            print(f"benchmark aborted: {e}", file=sys.stderr)
            return 2
        stopped = node.stop()
        log_lines = node.log.read_text(errors="replace").splitlines()
        noisy = node_process.noisy_lines(log_lines)
        for result in results:
            print_path(result)
        print(
            "\nlatency: submit sent -> task.completed received here; ack: submit sent -> "
            "its reply (NATS reply or HTTP 201).\nCPU: share of one core during the run, for "
            "the node process (all threads; its event-loop thread alone\nin brackets), its "
            "nats-server, this generator, and all other processes on the machine.\n"
        )
        for result in results:
            rate = med([r.rate for r in result.saturated])
            print(
                f"{result.name} throughput: {rate:,.0f} tasks/s  target >= "
                f"{result.target_rate:,.0f}  {verdict(rate >= result.target_rate)}"
            )
            if result.paced:
                p99 = med([r.latency_ms(0.99) for r in result.paced])
                paced_rate = result.paced[0].target_rate
                print(
                    f"{result.name} p99 at {paced_rate:,.0f} tasks/s "
                    f"({args.paced_fraction:.0%} of measured): {p99:.1f} ms  target < "
                    f"{TARGET_P99_MS:g} ms  {verdict(p99 < TARGET_P99_MS)}"
                )
        total = sum(r.requested for res in results for r in (*res.saturated, *res.paced))
        if lost:
            print(
                f"LOST: {lost:,} submits (of {total:,} measured, plus warm-up) did not end in "
                "task.completed; see the ! lines above"
            )
        else:
            print(f"all {total:,} measured tasks (and the warm-up) were accepted and completed")
        print(f"node {stopped}; its log has {len(noisy)} warning/error lines")
        if noisy or lost:
            print("node log, last lines:\n" + "\n".join(f"  | {line}" for line in log_lines[-30:]))
        if args.keep:
            print(f"kept {tmp}")
        print(f"(whole run {clock() - began:.0f} s)")
        if args.quick:
            print("(--quick: small numbers, a smoke test; rates are not comparable to a full run)")
        return 1 if lost or not stopped.startswith("stopped with code 0") else 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
