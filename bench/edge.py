"""Benchmark of the HTTP edge: `GET /api/v1/tasks/{id}` with API keys and rate limits on,
next to the same route with both off, in one run.

Two real nodes (`amas serve`) run as subprocesses, each with its embedded nats-server,
its own temporary data folder and free loopback ports:

* **off**: `AMAS_AUTH=off`: no key is asked for, no limit is kept (the guard only
  marks the request as the anonymous admin).
* **on**: keys and limits on. An admin key made here (`AMAS_API_KEY`, random, never
  written anywhere) creates `--keys` *pro* keys (scope read; 10,000 requests/hour,
  burst 200) through `POST /api/v1/api-keys`, and the measured requests go round-robin
  over them, so that each one is authenticated (hash + constant-time compare) AND
  counted by the GCRA limiter, and none is refused: the admin key itself is
  enterprise, which the limiter skips, so it is used only to set up. The number of
  keys is derived from the requests to make, at most 150 per key (of its 200 burst).

Each node gets one echo task (`POST /api/v1/tasks`), waited for until completed so
both answer the same body, then a warm-up. The rounds then alternate between the
nodes, off/on, on/off, off/on ... (each pair in the opposite order of the last, so a
drift in the machine's speed hits both equally); only one node is loaded at a time.
A round is a closed loop: `--connections` keep-alive connections (opened before the
clock starts), each with one request in flight, until `--requests` are answered.
Requests/s = answered / (last answer - first send); latency = send -> whole answer
read, on this process's monotonic clock (it includes the queueing of a saturated
loop: about connections / rate). Medians over the rounds are printed, and the ratio
on/off of the median rates, which the target is about (and, per pair of rounds, the
ratio of the pair). Other programs on this machine steal CPU from whichever round
runs at the time, so the rates are noisy; the node's CPU time per request (from
/proc, all its threads) is much less so, and is printed too: on a CPU-bound node,
off/on of it is the throughput ratio to expect.

Every measured answer must be a 200 with the task's body; on the "on" node it must
carry `X-RateLimit-Limit: 10000` (the pro tier's limiter did count it), on the "off"
node no X-RateLimit header at all. Anything else is counted, printed, and makes the
exit status 1 (2 if a node could not start or died; the tail of its log is printed).

The load generator is this one process, a minimal HTTP/1.1 client on asyncio
protocols (bench/http_raw.py; uvloop when installed): it writes a prebuilt request and
parses the status line, the headers and a Content-Length body, nothing more. On a 2-core machine the
generator shares the CPU with the node, so it must be cheap: httpx costs about a core
per 600 requests/s here (more than the node itself), while this client costs ~10% of
a core at ~1,000/s. The CPU of the node (and of its event-loop thread alone), its
nats-server, the idle node, this generator and everything else is shown per round:
the node's loop thread near 100% of a core with the generator well below is the sign
that the node, not the client, is the limit. `--client httpx` runs the same with
httpx (one single-connection AsyncClient per connection, as bench/pipeline.py does),
to compare.

Target (issue 4): the authenticated route keeps >= 90% of the unauthenticated
throughput.

Run from the repo root: `python bench/edge.py` (about a minute) or
`python bench/edge.py --quick` (a smoke test, ~15 s).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/edge.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from amas.runtime.nats_server import free_port  # noqa: E402
from bench import http_raw, machine, node_process  # noqa: E402
from bench.figures import med, percentile  # noqa: E402
from bench.node_process import BenchAborted  # noqa: E402

node_process.no_sniffio_retries()

TARGET_RATIO = 0.90
PRO_LIMIT = b"10000"
"""X-RateLimit-Limit of the pro tier: proof that the tier's limiter counted a request."""
PER_KEY = 150
"""Measured + warm-up requests per pro key at most (its burst is 200; it refills 2.8/s)."""
NOISY_OTHER_CPU = 0.15
"""More CPU than this (share of one core) used by other processes makes a round suspect."""
HEALTH_PATH = "/api/v1/health"
TASKS_PATH = "/api/v1/tasks"
KEYS_PATH = "/api/v1/api-keys"

clock = time.perf_counter


# -- the nodes ----------------------------------------------------------------------------


@dataclass
class Node:
    name: str
    auth: bool
    process: subprocess.Popen[bytes]
    log: Path
    port: int
    nats_pid: int | None = None
    admin_key: str | None = None
    keys: list[str] = field(default_factory=list)
    task_id: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def admin_headers(self) -> dict[str, str]:
        return {"x-api-key": self.admin_key} if self.admin_key else {}

    def tail(self, lines: int = 30) -> str:
        return node_process.log_tail(self.log, lines)

    def alive(self) -> bool:
        return self.process.poll() is None

    def check_alive(self) -> None:
        if not self.alive():
            raise BenchAborted(
                f"the {self.name} node died (exit code {self.process.returncode}):\n{self.tail()}"
            )

    def stop(self, timeout: float = 30.0) -> str:
        if not self.alive():
            return f"had already exited with code {self.process.returncode}"
        return node_process.stop(self.process, timeout)


def launch(name: str, auth: bool, tmp: Path) -> Node:
    folder = tmp / name
    folder.mkdir()
    port, nats_port = free_port(), free_port()
    log = folder / "node.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("AMAS_NATS_URL", "AMAS_DATA_DIR", "AMAS_AUTH", "AMAS_API_KEY")
    }
    admin_key = None
    if auth:
        # Made here, for this run only: it lives in the node's environment and in memory.
        admin_key = f"bench-admin-{secrets.token_urlsafe(24)}"
        env["AMAS_API_KEY"] = admin_key
    else:
        env["AMAS_AUTH"] = "off"
    with log.open("wb") as out:
        process = node_process.spawn_serve(
            port=port, nats_port=nats_port, data_dir=folder / "data", log=out, cwd=folder, env=env
        )
    return Node(name, auth, process, log, port, admin_key=admin_key)


async def ready(node: Node, client: httpx.AsyncClient, timeout: float = 60.0) -> None:
    deadline = clock() + timeout
    while clock() < deadline:
        node.check_alive()
        with contextlib.suppress(httpx.HTTPError):
            if (await client.get(node.base_url + HEALTH_PATH)).status_code == 200:
                node.nats_pid = machine.nats_child(node.process.pid)
                return
        await asyncio.sleep(0.2)
    raise BenchAborted(f"the {node.name} node was not healthy within {timeout:g} s")


async def prepare(node: Node, client: httpx.AsyncClient, keys: int) -> None:
    """One completed echo task to read; on the "on" node, `keys` pro keys (scope read)."""
    response = await client.post(
        node.base_url + TASKS_PATH,
        json={"task_type": "echo", "parameters": {"message": "hi"}},
        headers=node.admin_headers(),
    )
    if response.status_code != 201:
        raise BenchAborted(
            f"{node.name}: POST {TASKS_PATH} -> {response.status_code} {response.text[:300]}"
        )
    node.task_id = response.json()["task_id"]
    deadline = clock() + 30.0
    while True:
        got = await client.get(
            f"{node.base_url}{TASKS_PATH}/{node.task_id}", headers=node.admin_headers()
        )
        if got.status_code == 200 and got.json()["status"] == "completed":
            break
        if clock() > deadline:
            raise BenchAborted(f"{node.name}: the echo task did not complete: {got.text[:300]}")
        await asyncio.sleep(0.05)
    if not node.auth:
        return
    made: list[str] = []

    async def make(i: int) -> None:
        answer = await client.post(
            node.base_url + KEYS_PATH,
            json={"name": f"bench-{i}", "scopes": ["read"], "tier": "pro"},
            headers=node.admin_headers(),
        )
        if answer.status_code != 201:
            raise BenchAborted(
                f"{node.name}: POST {KEYS_PATH} -> {answer.status_code} {answer.text[:300]}"
            )
        made.append(answer.json()["api_key"])

    numbers = iter(range(keys))

    async def worker() -> None:
        for i in numbers:
            await make(i)

    await asyncio.gather(*(worker() for _ in range(8)))
    node.keys = made


# -- the load generator -------------------------------------------------------------------


Fetch = Callable[[bytes], Awaitable[tuple[int, bytes, bytes]]]
"""Sends one prebuilt request; returns (status, lowercased head, body)."""


class RawClients:
    """`count` connections of bench/http_raw.py, one fetch function bound to each."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connections: list[http_raw.Connection] = []

    async def open(self, count: int) -> list[Fetch]:
        for _ in range(count):
            self.connections.append(await http_raw.connect("127.0.0.1", self.port))

        def fetcher(connection: http_raw.Connection) -> Fetch:
            async def fetch(data: bytes) -> tuple[int, bytes, bytes]:
                return await connection.request(data)

            return fetch

        return [fetcher(c) for c in self.connections]

    async def close(self) -> None:
        for connection in self.connections:
            connection.close()
        self.connections.clear()


class HttpxClients:
    """The same through httpx: one single-connection AsyncClient per connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.clients: list[httpx.AsyncClient] = []

    async def open(self, count: int) -> list[Fetch]:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        tls = ssl.create_default_context()  # plain HTTP; one context, not one per client
        self.clients = [
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}", limits=limits,
                              verify=tls, timeout=httpx.Timeout(30.0))
            for _ in range(count)
        ]  # fmt: skip

        def fetcher(client: httpx.AsyncClient) -> Fetch:
            async def fetch(data: bytes) -> tuple[int, bytes, bytes]:
                # `data` is a prebuilt raw request: take its path and headers back out.
                lines = data.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
                headers.pop("host", None)
                response = await client.get(path, headers=headers)
                head = "\r\n".join(f"{k}: {v}" for k, v in response.headers.items())
                return response.status_code, ("\r\n" + head).lower().encode(), response.content

            return fetch

        for client in self.clients:  # connect before the clock starts
            await client.get(HEALTH_PATH)
        return [fetcher(c) for c in self.clients]

    async def close(self) -> None:
        for client in self.clients:
            await client.aclose()
        self.clients.clear()


def build_requests(node: Node) -> list[bytes]:
    """The raw GET, one per key on the "on" node (the generator only writes bytes)."""
    line = (
        f"GET {TASKS_PATH}/{node.task_id} HTTP/1.1\r\nhost: 127.0.0.1:{node.port}\r\n"
        "accept: application/json\r\nuser-agent: amas-bench-edge\r\n"
    )
    if not node.auth:
        return [(line + "\r\n").encode()]
    return [(line + f"x-api-key: {key}\r\n\r\n").encode() for key in node.keys]


# -- one round ----------------------------------------------------------------------------


@dataclass
class Round:
    node: str
    requested: int
    latencies: list[float] = field(default_factory=list)
    bad: Counter[str] = field(default_factory=Counter)
    started: float = 0.0
    ended: float = 0.0
    wall: float = 0.0
    """seconds between the CPU samples (the round, connections open)"""
    cpu: dict[str, float] = field(default_factory=dict)
    busiest_others: list[tuple[str, float]] = field(default_factory=list)
    """other processes that used the most CPU during the round (share of one core)"""

    @property
    def rate(self) -> float:
        elapsed = self.ended - self.started
        return len(self.latencies) / elapsed if elapsed > 0 else 0.0

    def latency_ms(self, q: float) -> float:
        return percentile(self.latencies, q) * 1000

    @property
    def node_us(self) -> float:
        """CPU of the loaded node (all its threads) per answered request, microseconds."""
        return (
            self.cpu.get("node", 0.0) * self.wall / len(self.latencies) * 1e6
            if self.latencies
            else 0.0
        )


_LIMIT_HEADER = b"\r\nx-ratelimit-limit: "


class Judge:
    """Is an answer the one expected? Returns None if so, else what is wrong with it."""

    def __init__(self, node: Node) -> None:
        self.auth = node.auth
        self.task_ref = f'"task_id":"{node.task_id}"'.encode()

    def __call__(self, status: int, head: bytes, body: bytes) -> str | None:
        if status != 200:
            code = ""
            with contextlib.suppress(Exception):
                code = " " + body.split(b'"code":"', 1)[1].split(b'"', 1)[0].decode()
            return f"HTTP {status}{code}"
        if self.task_ref not in body:
            return "200 without the task's body"
        at = head.find(_LIMIT_HEADER)
        if self.auth:
            if at < 0:
                return "200 without X-RateLimit-Limit"
            start = at + len(_LIMIT_HEADER)
            if head[start : start + len(PRO_LIMIT) + 2].split(b"\r\n")[0] != PRO_LIMIT:
                return "200 not counted by the pro tier's limiter"
        elif at >= 0:
            return "200 with X-RateLimit headers (auth is meant to be off)"
        return None


class Keys:
    """Round-robin over the node's requests (one per key), across all its rounds."""

    def __init__(self, requests: list[bytes]) -> None:
        self.requests = requests
        self.next = 0

    def take(self) -> bytes:
        request = self.requests[self.next % len(self.requests)]
        self.next += 1
        return request


@dataclass
class Probe:
    """CPU seconds so far of the loaded node, its loop thread, its nats-server, the idle
    node (with its nats-server), this process and the whole machine."""

    loaded: Node
    idle: Node

    def sample(self) -> dict[str, float]:
        pid = self.loaded.process.pid
        out = {
            "node": machine.cpu_seconds(pid),
            "loop": machine.cpu_seconds(pid, thread=pid),
            "nats": machine.cpu_seconds(self.loaded.nats_pid) if self.loaded.nats_pid else 0.0,
            "idle": machine.cpu_seconds(self.idle.process.pid)
            + (machine.cpu_seconds(self.idle.nats_pid) if self.idle.nats_pid else 0.0),
            "gen": machine.own_cpu_seconds(),
        }
        busy = machine.machine_busy_seconds()
        if busy is not None:
            out["machine"] = busy
        return out


async def run_round(
    node: Node, other: Node, keys: Keys, client: str, connections: int, requested: int
) -> Round:
    clients = RawClients(node.port) if client == "raw" else HttpxClients(node.port)
    fetches = await clients.open(connections)
    judge = Judge(node)
    run = Round(node.name, requested)
    numbers = iter(range(requested))

    async def worker(fetch: Fetch) -> None:
        for _ in numbers:  # one shared iterator: `requested` requests in all
            data = keys.take()
            sent = clock()
            try:
                status, head, body = await fetch(data)
            except Exception as e:  # counted and reported: a benchmark must not hide errors
                run.bad[type(e).__name__] += 1
                return
            answered = clock()
            wrong = judge(status, head, body)
            if wrong is None:
                run.latencies.append(answered - sent)
                run.ended = answered
            else:
                run.bad[wrong] += 1

    probe = Probe(node, other)
    others_before = machine.processes()
    before = probe.sample()
    run.started = wall = clock()
    try:
        await asyncio.gather(*(worker(f) for f in fetches))
    finally:
        after, wall = probe.sample(), clock() - wall
        await clients.close()
    run.wall = wall
    run.cpu = machine.shares(before, after, wall, ours=("node", "nats", "idle", "gen"))
    if "other" in run.cpu:
        mine = (node.process.pid, node.nats_pid, other.process.pid, other.nats_pid)
        run.busiest_others = machine.busiest_others(others_before, mine, wall)
    return run


# -- the report ---------------------------------------------------------------------------


def print_table(results: dict[str, list[Round]], labels: dict[str, str]) -> None:
    print(
        f"\n  {'GET /api/v1/tasks/{id}':<34} {'rounds':>6} {'req/s':>7} {'p50 ms':>7} "
        f"{'p99 ms':>7} {'max ms':>7} {'node us/req':>11}  "
        "CPU: node (loop) nats idle-node gen other"
    )
    for name, rounds in results.items():
        cpu = {k: med([r.cpu.get(k, 0.0) for r in rounds]) for k in rounds[0].cpu}
        print(
            f"  {labels[name]:<34} {len(rounds):>6} {med([r.rate for r in rounds]):>7,.0f} "
            f"{med([r.latency_ms(0.5) for r in rounds]):>7.2f} "
            f"{med([r.latency_ms(0.99) for r in rounds]):>7.2f} "
            f"{med([r.latency_ms(1.0) for r in rounds]):>7.2f} "
            f"{med([r.node_us for r in rounds]):>11,.0f}  "
            f"{cpu.get('node', 0):.0%} ({cpu.get('loop', 0):.0%}) {cpu.get('nats', 0):.0%} "
            f"{cpu.get('idle', 0):.0%} {cpu.get('gen', 0):.0%} "
            + (f"{cpu['other']:.0%}" if "other" in cpu else "?")
        )
    for name, rounds in results.items():
        print(
            f"  {name:>4} rounds, in order: req/s "
            + " ".join(f"{r.rate:,.0f}" for r in rounds)
            + "; p99 ms "
            + " ".join(f"{r.latency_ms(0.99):.0f}" for r in rounds)
            + "; node us/req "
            + " ".join(f"{r.node_us:,.0f}" for r in rounds)
        )


async def bench(args: argparse.Namespace, tmp: Path) -> tuple[dict[str, list[Round]], int]:
    total_on = args.rounds * args.requests + args.warmup
    key_count = max(1, math.ceil(total_on / PER_KEY))
    nodes = {"off": launch("off", False, tmp), "on": launch("on", True, tmp)}
    results: dict[str, list[Round]] = {"off": [], "on": []}
    bad = 0
    try:
        async with httpx.AsyncClient(timeout=10.0) as setup:
            for node in nodes.values():
                await ready(node, setup)
            began = clock()
            for node in nodes.values():
                await prepare(node, setup, key_count)
            print(
                f"(nodes ready; one echo task each; {len(nodes['on'].keys)} pro keys made in "
                f"{clock() - began:.1f} s)",
                flush=True,
            )
        requests = {name: Keys(build_requests(node)) for name, node in nodes.items()}
        for name in ("off", "on"):
            warm = await run_round(
                nodes[name], nodes["on" if name == "off" else "off"], requests[name],
                args.client, args.connections, args.warmup,
            )  # fmt: skip
            if warm.bad:
                print(f"! warm-up {name}: {dict(warm.bad)}", flush=True)
                bad += sum(warm.bad.values())
        order = ["off", "on"]
        for i in range(args.rounds):
            for name in order:
                other = "on" if name == "off" else "off"
                run = await run_round(
                    nodes[name], nodes[other], requests[name], args.client,
                    args.connections, args.requests,
                )  # fmt: skip
                results[name].append(run)
                nodes[name].check_alive()
                if run.bad:
                    bad += sum(run.bad.values())
                    print(f"! round {i + 1} {name}: not as expected: {dict(run.bad)}", flush=True)
            print(
                f"(round {i + 1}/{args.rounds}: off {results['off'][-1].rate:,.0f} req/s, "
                f"on {results['on'][-1].rate:,.0f} req/s)",
                flush=True,
            )
            order.reverse()
    except BaseException:
        for node in nodes.values():
            print(f"the {node.name} node's log ({node.log}):\n{node.tail()}", file=sys.stderr)
        raise
    finally:
        for node in nodes.values():
            stopped = node.stop()
            log_lines = node.log.read_text(errors="replace").splitlines()
            noisy = node_process.noisy_lines(log_lines)
            print(f"{node.name} node {stopped}; its log has {len(noisy)} warning/error lines")
            if noisy:
                print(node.tail())
            if not stopped.startswith("stopped with code 0"):
                bad += 1
    return results, bad


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--rounds", type=int, default=10, help="rounds per configuration (default 10)"
    )
    parser.add_argument(
        "--requests", type=int, default=3000, help="requests per round (default 3,000)"
    )
    parser.add_argument(
        "--connections",
        type=int,
        default=16,
        help="keep-alive connections = requests in flight (default 16)",
    )
    parser.add_argument(
        "--warmup", type=int, default=1000, help="unreported requests per node (default 1,000)"
    )
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: a minimal asyncio HTTP/1.1 client (default) or httpx",
    )
    parser.add_argument(
        "--quick", action="store_true", help="a smoke test: 2 rounds of 600 requests"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the temporary directory (logs, data)"
    )
    parser.add_argument(
        "--dir", type=Path, default=None, help="where to make the temporary directory"
    )
    args = parser.parse_args(argv)
    began = clock()
    if args.quick:
        args.rounds, args.requests, args.warmup = 2, 600, 200
    args.rounds = max(1, args.rounds)

    cpus = machine.nproc()
    labels = {"off": "auth off (AMAS_AUTH=off)", "on": "auth on (pro keys, rate-limited)"}
    print("AMAS edge benchmark (bench/edge.py): GET /api/v1/tasks/{id}, auth+limits on vs off")
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}), "
        + machine.versions("uvicorn", "fastapi", "starlette", "h11", "httptools", "uvloop")
    )
    print(
        f"nproc {cpus}, {machine.cpu_model()}, {platform.machine()}; two `amas serve` subprocesses "
        "(off, on), one loaded at a time, loopback only"
    )
    print(
        f"{args.rounds} rounds x {args.requests:,} requests per configuration, alternating "
        f"(off/on, on/off, ...); {args.connections} keep-alive connections, closed loop; "
        f"{args.warmup:,} warm-up requests per node; load generator: this process, "
        + ("minimal asyncio HTTP/1.1 client" if args.client == "raw" else "httpx"),
        flush=True,
    )

    try:  # the generator's own loop: uvloop when the node has it too
        import uvloop

        loop_factory: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
    except ImportError:
        loop_factory = None
    tmp = Path(tempfile.mkdtemp(prefix="amas-bench-edge-", dir=args.dir))
    try:
        try:
            with asyncio.Runner(loop_factory=loop_factory) as runner:
                results, bad = runner.run(bench(args, tmp))
        except BenchAborted as e:
            print(f"benchmark aborted: {e}", file=sys.stderr)
            return 2
        if not results["off"] or not results["on"]:
            print("no round completed", file=sys.stderr)
            return 2
        print_table(results, labels)
        print(
            "\nreq/s: answered / (last answer - first send) of a round; latency: send -> whole "
            "answer read,\nin a closed loop (queueing included). Medians over the rounds. CPU: "
            "share of one core during\nthe round for the loaded node (all threads; its "
            "event-loop thread alone in brackets),\nits nats-server, the idle node (+ its "
            "nats-server), this generator, and all other processes."
        )
        for name, rounds in results.items():
            noisy = [r for r in rounds if r.cpu.get("other", 0.0) > NOISY_OTHER_CPU]
            if noisy:
                worst = max(noisy, key=lambda r: r.cpu.get("other", 0.0))
                busiest = ", ".join(f"{n!r} {share:.0%}" for n, share in worst.busiest_others)
                print(
                    f"! {name}: other processes used more than {NOISY_OTHER_CPU:.0%} of a core "
                    f"in {len(noisy)} of {len(rounds)} rounds (up to {worst.cpu['other']:.0%}: "
                    f"{busiest or 'short-lived ones'}): the rates are disturbed; the node's "
                    "CPU per request much less so"
                )
        off, on = med([r.rate for r in results["off"]]), med([r.rate for r in results["on"]])
        pairs = [b.rate / a.rate for a, b in zip(results["off"], results["on"], strict=False)
                 if a.rate > 0]  # fmt: skip
        ratio = on / off if off > 0 else 0.0
        counted = sum(len(r.latencies) for rs in results.values() for r in rs)
        print(
            f"\nratio on/off of the median rates: {on:,.0f} / {off:,.0f} = {ratio:.1%}; "
            f"per round pair: {' '.join(f'{p:.0%}' for p in pairs)} (median {med(pairs):.1%})"
        )
        p50_extra = med([r.latency_ms(0.5) for r in results["on"]]) - med(
            [r.latency_ms(0.5) for r in results["off"]]
        )
        print(f"p50 latency added by auth+limits: {p50_extra:+.2f} ms")
        us_off = med([r.node_us for r in results["off"]])
        us_on = med([r.node_us for r in results["on"]])
        if us_off > 0 and us_on > 0:
            print(
                f"node CPU per request: {us_on:,.0f} us on vs {us_off:,.0f} us off "
                f"({us_on - us_off:+,.0f} us, {us_on / us_off - 1:+.1%}); a CPU-bound node "
                f"would keep {us_off / us_on:.0%} of its throughput"
            )
        print(
            f"auth+limits keep {ratio:.0%} of the open route's throughput "
            f"(target >= {TARGET_RATIO:.0%})  {'PASS' if ratio >= TARGET_RATIO else 'MISS'}"
        )
        if bad:
            print(f"NOT AS EXPECTED: {bad:,} answers (or node exits); see the ! lines above")
        else:
            print(
                f"all {counted:,} measured answers were 200 with the task's body; on the 'on' "
                f"node each was counted by the pro limiter (X-RateLimit-Limit: 10000)"
            )
        if args.keep:
            print(f"kept {tmp}")
        print(f"(whole run {clock() - began:.0f} s)")
        if args.quick:
            print("(--quick: small numbers, a smoke test; rates are not comparable to a full run)")
        return 1 if bad else 0
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
