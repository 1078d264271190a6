"""Benchmark of `GET /api/v1/events/verify` on a node that is serving other requests.

A hash-chain walk is CPU work. The node runs it off its event loop; this measures
whether the walk and the requests the loop serves meanwhile slow each other down.

One node (`amas serve`, a subprocess with its embedded nats-server, free loopback
ports, a temporary data folder) starts on a log of `--events` events written before it
starts (system.alert, in appends of 1,000; the node's projections and relay catch up
with them, and the benchmark waits until the node's CPU is quiet). Then rounds of three
phases, in the same order each round:

* **idle**: `GET /events/verify` alone: how long the walk takes;
* **load**: `--connections` keep-alive connections each with one `GET /health` in
  flight, for as long as the idle walk took (at least 1 s): requests/s and p50 latency
  with nothing else running;
* **both**: the same load, and a verify sent when it starts: the walk's time, and the
  load's requests/s and p50 until the walk answers.

Medians over `--rounds` are printed, with two ratios: the walk's time under load over
its time alone (1.0: the load does not slow it), and the load's rate during the walk
over its rate alone (1.0: the walk takes nothing from the requests). Every verify must
answer 200 with `ok: true` and every load request 200; otherwise the exit status is 1.

`--source DIR` runs the node from another checkout (its `amas` package first on the
path): the same benchmark against an earlier commit.

    python bench/verify.py [--events 200000] [--rounds 5] [--connections 8]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from amas.runtime.nats_server import free_port
from bench.http_raw import Pool, build_request
from bench.machine import cpu_seconds
from bench.node_process import BenchAborted, log_tail, spawn_serve, stop
from events.store import SQLiteEventStore
from events.types.system import SystemAlerted

REPO = Path(__file__).resolve().parent.parent


async def fill(events_db: Path, count: int) -> None:
    store = await SQLiteEventStore.open(events_db)
    try:
        alert = SystemAlerted(level="info", code="bench-fill", message="x" * 40)
        for start in range(0, count, 1000):
            await store.append("system", -1, [alert] * min(1000, count - start))
    finally:
        await store.close()


async def quiet(pid: int, timeout: float = 300.0) -> None:
    """Until the node spends under 5% of a core for a whole second."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(1.0)
        if cpu_seconds(pid) - before < 0.05:
            return
    raise BenchAborted(f"the node was still busy after {timeout:g} s")


class Load:
    """`GET /health` on every connection, back to back, until `stop()`."""

    def __init__(self, pool: Pool, request: bytes) -> None:
        self.pool, self.request = pool, request
        self.latencies: list[float] = []
        self.failures = 0
        self._running = False

    async def run_until(self, done: asyncio.Future[object] | float) -> tuple[float, float]:
        """(requests/s, p50 ms) from the start until `done` (a future, or seconds)."""
        self.latencies.clear()
        self._running = True
        start = time.monotonic()
        workers = [asyncio.create_task(self._worker()) for _ in range(self.pool.size)]
        if isinstance(done, float):
            await asyncio.sleep(done)
        else:
            await asyncio.wait([done])
        self._running = False
        took = time.monotonic() - start
        await asyncio.gather(*workers)
        p50 = statistics.median(self.latencies) * 1000 if self.latencies else float("nan")
        return len(self.latencies) / took, p50

    async def _worker(self) -> None:
        while self._running:
            sent = time.monotonic()
            answer = await self.pool.fetch(self.request, timeout=30.0)
            if answer.status != 200:
                self.failures += 1
            self.latencies.append(time.monotonic() - sent)


async def timed_verify(client: httpx.AsyncClient) -> float:
    start = time.monotonic()
    response = await client.get("/events/verify", timeout=600.0)
    took = time.monotonic() - start
    body = response.json()
    if response.status_code != 200 or body.get("ok") is not True:
        raise BenchAborted(f"verify answered {response.status_code}: {response.text[:300]}")
    return took


async def bench(args: argparse.Namespace) -> int:
    key = secrets.token_urlsafe(24)
    source: Path = args.source
    env = {k: v for k, v in os.environ.items() if not k.startswith("AMAS_")}
    env.update(AMAS_API_KEY=key, PYTHONPATH=str(source))
    with tempfile.TemporaryDirectory(prefix="amas-bench-verify-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        await fill(data / "events.db", args.events)
        port, log_path = free_port(), Path(tmp) / "node.log"
        with log_path.open("wb") as log:
            process = spawn_serve(
                port=port, nats_port=free_port(), data_dir=data, log=log, cwd=source, env=env
            )
            try:
                return await measure(args, process.pid, port, key)
            except BenchAborted as e:
                print(f"aborted: {e}\n{log_tail(log_path)}", file=sys.stderr)
                return 2
            finally:
                print(f"node: {stop(process)}")


async def measure(args: argparse.Namespace, pid: int, port: int, key: str) -> int:
    base = f"http://127.0.0.1:{port}/api/v1"
    async with httpx.AsyncClient(base_url=base, headers={"X-API-Key": key}) as client:
        deadline = time.monotonic() + 120
        while True:
            try:
                if (await client.get("/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise BenchAborted("the node did not answer /health within 120 s")
            await asyncio.sleep(0.2)
        await quiet(pid)
        pool = Pool("127.0.0.1", port, args.connections)
        await pool.open()
        health = build_request("GET", "/api/v1/health", f"127.0.0.1:{port}", {"X-API-Key": key})
        load = Load(pool, health)
        rows: list[tuple[float, float, float, float, float, float]] = []
        await timed_verify(client)  # warm: the worker (if any) started, pages cached
        for _ in range(args.rounds):
            idle = await timed_verify(client)
            alone_rate, alone_p50 = await load.run_until(max(idle, 1.0))
            verifying = asyncio.ensure_future(timed_verify(client))
            both_rate, both_p50 = await load.run_until(verifying)
            rows.append((idle, verifying.result(), alone_rate, both_rate, alone_p50, both_p50))
            print(
                f"  round: verify {idle:6.2f} s alone, {verifying.result():6.2f} s under load;"
                f" load {alone_rate:7.0f}/s p50 {alone_p50:5.1f} ms alone,"
                f" {both_rate:7.0f}/s p50 {both_p50:5.1f} ms during the walk",
                flush=True,
            )
        await pool.close()
    medians = [statistics.median(column) for column in zip(*rows, strict=True)]
    idle, loaded, alone, both, alone_p50, both_p50 = medians
    print(
        f"\nmedians of {args.rounds} rounds, {args.events:,} events:\n"
        f"  verify alone            {idle:8.2f} s\n"
        f"  verify under load       {loaded:8.2f} s   x{loaded / idle:.2f} of alone\n"
        f"  load alone              {alone:8.0f} req/s  p50 {alone_p50:.1f} ms\n"
        f"  load during the walk    {both:8.0f} req/s  p50 {both_p50:.1f} ms"
        f"   x{both / alone:.2f} of alone"
    )
    if load.failures:
        print(f"FAILED: {load.failures} load requests did not answer 200")
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--source", help="run the node from this checkout (default: this one)")
    args = parser.parse_args()
    args.source = Path(args.source).resolve() if args.source else REPO
    print(
        f"AMAS verify benchmark (bench/verify.py): {args.events:,} events,"
        f" {args.connections} connections of GET /health",
        flush=True,
    )
    return asyncio.run(bench(args))


if __name__ == "__main__":
    sys.exit(main())
