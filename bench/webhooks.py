"""Benchmark of webhook deliveries: their rate through a node against a bare POST loop,
and the latency from commit to delivery.

`python bench/webhooks.py` (repo root, project virtualenv) starts a receiver in a
subprocess (asyncio protocols + httptools on uvloop: 200 with an empty body at once; it
notes each request's `webhook-id` and arrival time) and a node in this process (on uvloop,
as `amas serve` runs it) with one webhook subscribed to `system.alert` at the receiver.
Then, in interleaved rounds, each after the node's projections have caught up:

* bare — `--deliveries` POSTs of one delivery built and signed once, with the Transport
  the deliverer uses, `--concurrency` at a time (the deliverer's bound per endpoint): the
  ceiling;
* amas — `--deliveries` system.alert events committed in bulk (appends of 500 events),
  timed from the first append until the deliverer's checkpoint passes the last event:
  every delivery signed, POSTed and its `webhook.attempted` event committed.

Then `--rounds` paced rounds: events appended one at a time, open loop, at `--fraction`
of the median AMAS rate; a delivery's latency runs from its event's commit (the append's
future resolved, seen by a done callback) to its arrival at the receiver. Both are
time.monotonic(): CLOCK_MONOTONIC, one clock for every process on the machine (Linux).

Per kind it prints the rate, the CPU per delivery of this process (the loop and its
SQLite threads), of the receiver and of the nats-server, how busy the loop was, the NATS
messages the relay sent per delivery, and what the rest of the machine used meanwhile
(other processes, interrupts, steal; a round where that passed 15% of a core is flagged).
Targets (issue 14): AMAS rate >= 0.5 of the bare loop's; p99 commit -> delivery <= 50 ms
at half the AMAS rate.

`--breakdown` adds one AMAS round with parts of an attempt timed as the deliverer awaits
them (wall time: the time waiting for the loop and for the disk is in it).

The receiver is not tests/fakes/webhook_receiver.py: that one parses on asyncio streams
and keeps every request whole, 42 us of CPU a request against 27 us for this one (measured
at 8 in flight), CPU the receiver takes from the node on a 2-core machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import types
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/webhooks.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

import httptools  # noqa: E402
import msgspec  # noqa: E402

import actors.webhooks.delivery as delivery  # noqa: E402
from actors.webhooks.guard import check_url, parse_allow, resolve  # noqa: E402
from actors.webhooks.signing import new_secret, payload, standard_headers  # noqa: E402
from actors.webhooks.transport import Transport  # noqa: E402
from amas.runtime.node import Node  # noqa: E402
from bench import machine  # noqa: E402
from bench.figures import med, percentile, verdict  # noqa: E402
from events.commands import CreateWebhook  # noqa: E402
from events.envelope import Meta  # noqa: E402
from events.store.base import ANY_VERSION, AppendResult  # noqa: E402
from events.types import SystemAlerted  # noqa: E402
from tests.conftest import fresh_config  # noqa: E402

RATE_SHARE = 0.5
"""Target: the AMAS rate is at least this share of the bare loop's."""
P99_MS = 50.0
CONCURRENCY = 8
"""The deliverer's bound per endpoint (`Subscription.busy` in actors/webhooks/delivery.py)."""
CHUNK = 500
"""Events per append when committing in bulk."""
DISTURBED = 0.15
"""Other processes' CPU (share of one core) above which a round is flagged."""
META = Meta(actor="bench-webhooks")
OK = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


# -- the receiver, in its own process ---------------------------------------------------


class _Receiving(asyncio.Protocol):
    """One connection: each request answered at once, its webhook-id and arrival noted."""

    def __init__(self, seen: list[tuple[str, float]]) -> None:
        self.seen = seen
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.webhook_id = ""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # a stream transport

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            assert self.transport is not None
            self.transport.close()

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"webhook-id":
            self.webhook_id = value.decode()

    def on_message_complete(self) -> None:
        self.seen.append((self.webhook_id, time.monotonic()))
        self.webhook_id = ""
        assert self.transport is not None
        self.transport.write(OK)


def serve() -> None:
    """Print the port; then for each line on stdin print, as one JSON line, the requests
    seen since the previous line and this process's CPU seconds; exit at EOF."""
    import uvloop

    loop = uvloop.new_event_loop()
    seen: list[tuple[str, float]] = []
    listening = socket.create_server(("127.0.0.1", 0))
    loop.run_until_complete(loop.create_server(lambda: _Receiving(seen), sock=listening))
    print(listening.getsockname()[1], flush=True)

    async def take() -> list[tuple[str, float]]:
        taken = list(seen)
        seen.clear()
        return taken

    def answer() -> None:
        for _ in sys.stdin:
            taken = asyncio.run_coroutine_threadsafe(take(), loop).result()
            reply = {"seen": taken, "cpu": time.process_time()}
            sys.stdout.buffer.write(msgspec.json.encode(reply) + b"\n")
            sys.stdout.flush()
        loop.call_soon_threadsafe(loop.stop)

    threading.Thread(target=answer, daemon=True).start()
    loop.run_forever()


class Receiver:
    def __init__(self) -> None:
        command = [sys.executable, str(Path(__file__).resolve()), "--serve"]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert self.process.stdout is not None
        self.url = f"http://127.0.0.1:{int(self.process.stdout.readline())}/hook"

    async def take(self) -> tuple[list[tuple[str, float]], float]:
        """(webhook-id, arrival) of each request since the last take; its CPU so far."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(b"take\n")
        stdin.flush()
        reply = msgspec.json.decode(await asyncio.to_thread(stdout.readline))
        return [(i, t) for i, t in reply["seen"]], float(reply["cpu"])

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(10)


# -- one round --------------------------------------------------------------------------


class Round(msgspec.Struct, kw_only=True):
    rate: float
    cpu_us: float
    """This process's CPU per delivery: the loop and every other thread (SQLite's)."""
    loop: float
    """The event loop's thread, as a share of one core."""
    receiver_us: float
    nats_us: float
    relayed: float
    """NATS messages the relay sent per delivery."""
    other: float
    """The rest of the machine (other processes, interrupts, steal), as a share of one core."""


def _cpu(node: Node, receiver_cpu: float) -> dict[str, float]:
    pid, nats = os.getpid(), machine.nats_child(os.getpid())
    return {
        "process": time.process_time(),
        "loop": machine.cpu_seconds(pid, pid),
        "receiver": receiver_cpu,
        "nats": machine.cpu_seconds(nats) if nats else 0.0,
        "machine": machine.machine_busy_seconds() or 0.0,
        "relayed": float(node.relay.sent),
    }


async def _measured(
    node: Node, receiver: Receiver, count: int, work: Callable[[], Awaitable[None]]
) -> tuple[Round, list[tuple[str, float]]]:
    """Run `work` (which must bring `count` requests to the receiver) and measure it."""
    await node.projections.wait_for(node.store.head, 60.0)  # the last round's tail is done
    _, receiver_cpu = await receiver.take()
    before, wall = _cpu(node, receiver_cpu), time.perf_counter()
    await work()
    wall = time.perf_counter() - wall
    seen, receiver_cpu = await receiver.take()
    after = _cpu(node, receiver_cpu)
    if len(seen) != count:
        raise RuntimeError(f"the receiver saw {len(seen)} requests, not {count}")
    used = {key: after[key] - before[key] for key in after}
    ours = used["process"] + used["receiver"] + used["nats"]
    measured = Round(
        rate=count / wall,
        cpu_us=used["process"] / count * 1e6,
        loop=used["loop"] / wall,
        receiver_us=used["receiver"] / count * 1e6,
        nats_us=used["nats"] / count * 1e6,
        relayed=used["relayed"] / count,
        other=max(0.0, used["machine"] - ours) / wall,
    )
    return measured, seen


def _alert(n: int) -> SystemAlerted:
    return SystemAlerted(level="info", code="bench", message=f"alert {n}", details={"n": n})


async def _bare(node: Node, receiver: Receiver, transport: Transport, args: Any) -> Round:
    allow = parse_allow("127.0.0.1/32")
    pinned = await resolve(check_url(receiver.url, allow), allow)
    secret = new_secret()
    body = payload("system.alert", "2026-12-07T00:00:00Z", msgspec.to_builtins(_alert(0)), secret)
    headers = {
        **standard_headers(secret, "evt_bench", int(time.time()), body),
        "content-type": "application/json",
        "user-agent": "AMAS-webhooks",
    }
    left = args.deliveries

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            sent = await transport.post(pinned, headers, body)
            if not sent.ok:
                raise RuntimeError(f"a bare POST failed: {sent}")

    async def work() -> None:
        await asyncio.gather(*(worker() for _ in range(args.concurrency)))

    return (await _measured(node, receiver, args.deliveries, work))[0]


async def _settled(node: Node, position: int) -> None:
    """Until the deliverer's checkpoint passes `position`: every delivery of every event
    up to it has its attempt committed."""
    while node.deliverer.safe < position:  # noqa: ASYNC110 (the deliverer signals nothing)
        await asyncio.sleep(0.002)


async def _amas(node: Node, receiver: Receiver, count: int) -> Round:
    async def work() -> None:
        appends = [
            node.store.append(
                "system", ANY_VERSION, [_alert(n) for n in range(i, min(count, i + CHUNK))], META
            )
            for i in range(0, count, CHUNK)
        ]
        done = await asyncio.gather(*appends)
        await _settled(node, max(r.last_position for r in done))

    return (await _measured(node, receiver, count, work))[0]


class Paced(msgspec.Struct, kw_only=True):
    round: Round
    latency_ms: list[float]
    """Commit -> arrival at the receiver, per delivery."""
    append_ms: list[float]
    """The append call -> its commit, per event (not part of the latency)."""


async def _paced(node: Node, receiver: Receiver, count: int, rate: float) -> Paced:
    """`count` events appended one by one at `rate` per second, open loop."""
    submitted: dict[asyncio.Future[AppendResult], float] = {}
    committed: dict[str, tuple[float, float]] = {}

    def noted(future: asyncio.Future[AppendResult]) -> None:
        committed[future.result().events[0].event_id] = (submitted[future], time.monotonic())

    async def work() -> None:
        started = time.monotonic()
        for n in range(count):
            wait = started + n / rate - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            future = node.store.append_soon("system", ANY_VERSION, [_alert(n)], META)
            submitted[future] = time.monotonic()
            future.add_done_callback(noted)
        done = await asyncio.gather(*submitted)
        await _settled(node, max(r.last_position for r in done))

    measured, seen = await _measured(node, receiver, count, work)
    return Paced(
        round=measured,
        latency_ms=[(at - committed[event_id][1]) * 1000 for event_id, at in seen],
        append_ms=[(commit - submit) * 1000 for submit, commit in committed.values()],
    )


async def _breakdown(node: Node, receiver: Receiver, count: int) -> dict[str, list[float]]:
    """One AMAS round with parts of an attempt timed, wall ms per call, as awaited."""
    parts: dict[str, list[float]] = {}

    def timed(name: str, call: Callable[..., Any], awaited: bool = True) -> Callable[..., Any]:
        times = parts.setdefault(name, [])

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return await call(*args, **kwargs)
            finally:
                times.append((time.perf_counter() - began) * 1000)

        def plain(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return call(*args, **kwargs)
            finally:
                times.append((time.perf_counter() - began) * 1000)

        return wrapper if awaited else plain

    deliverer = node.deliverer
    secrets, post = deliverer.secrets, deliverer.transport.post
    functions = {name: getattr(delivery, name) for name in ("payload", "standard_headers")}
    deliverer.secrets = types.SimpleNamespace(signing=timed("secret lookup", secrets.signing))  # type: ignore[assignment]
    deliverer.transport.post = timed("POST (Transport.post)", post)  # type: ignore[method-assign]
    for name, function in functions.items():
        setattr(delivery, name, timed(f"signing: {name}", function, awaited=False))
    # The deliverer's own steps, if they still have these names.
    steps = {"_attempt": "attempt (all of it)", "_record": "record (its append)"}
    for method, name in steps.items():
        if hasattr(deliverer, method):
            setattr(deliverer, method, timed(name, getattr(deliverer, method)))
    try:
        await _amas(node, receiver, count)
    finally:
        for method in steps:
            deliverer.__dict__.pop(method, None)
        for name, function in functions.items():
            setattr(delivery, name, function)
        deliverer.secrets, deliverer.transport.post = secrets, post  # type: ignore[method-assign]
    return {name: times for name, times in parts.items() if times}


# -- the run ----------------------------------------------------------------------------


async def _run(args: argparse.Namespace, receiver: Receiver) -> dict[str, Any]:
    config = fresh_config(Path(tempfile.mkdtemp(prefix="amas-bench-webhooks-")))
    config.webhook_allow = parse_allow("127.0.0.1/32")
    out: dict[str, Any] = {"bare": [], "amas": [], "paced": [], "breakdown": {}, "errors": {}}

    def counted(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        """Errors the loop would log, counted (one line each at the end, not thousands)."""
        error = context.get("exception")
        key = f"{context.get('message')}: {error!r}" if error else str(context.get("message"))
        out["errors"][key] = out["errors"].get(key, 0) + 1

    asyncio.get_running_loop().set_exception_handler(counted)
    async with Node(config) as node:
        made = await node.webhooks.execute(CreateWebhook(url=receiver.url, events=["system.alert"]))
        assert made.ok, made
        while made.data["webhook_id"] not in node.deliverer.subscriptions.webhooks:  # noqa: ASYNC110
            await asyncio.sleep(0.01)  # until the deliverer has read the webhook.created
        transport = Transport()
        try:
            warm = argparse.Namespace(deliveries=500, concurrency=args.concurrency)
            await _bare(node, receiver, transport, warm)  # connections open, code paths hot
            await _amas(node, receiver, 500)
            for _ in range(args.rounds):
                out["bare"].append(await _bare(node, receiver, transport, args))
                out["amas"].append(await _amas(node, receiver, args.deliveries))
            out["rate"] = med([r.rate for r in out["amas"]]) * args.fraction
            for _ in range(args.rounds):
                out["paced"].append(await _paced(node, receiver, args.paced, out["rate"]))
            if args.breakdown:
                out["breakdown"] = await _breakdown(node, receiver, args.deliveries)
        finally:
            await transport.aclose()
    return out


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _kind(name: str, rounds: list[Round]) -> list[str]:
    def m(field: str) -> float:
        return med([getattr(r, field) for r in rounds])

    each = " / ".join(f"{r.rate:,.0f}" for r in rounds)
    return [
        f"  {name:<6}{m('rate'):>8,.0f}/s  ({each})",
        f"        per delivery: this process {m('cpu_us'):,.0f} us CPU (loop busy"
        f" {m('loop'):.0%}), receiver {m('receiver_us'):.0f} us, nats-server"
        f" {m('nats_us'):.0f} us; NATS messages relayed {m('relayed'):.2f};"
        f" rest of the machine {m('other'):.0%} of a core",
    ]


def _report(args: argparse.Namespace, out: dict[str, Any]) -> None:
    bare, amas, paced = out["bare"], out["amas"], out["paced"]
    print(f"deliveries per second, medians of {args.rounds} rounds (each round):")
    for line in _kind("bare", bare) + _kind("amas", amas):
        print(line)
    ratio = med([r.rate for r in amas]) / med([r.rate for r in bare])
    print(f"AMAS / bare: {ratio:.2f}  target >= {RATE_SHARE:g}  {verdict(ratio >= RATE_SHARE)}")
    p50s = [percentile(p.latency_ms, 0.5) for p in paced]
    p99s = [percentile(p.latency_ms, 0.99) for p in paced]
    print(
        f"commit -> delivery, paced at {out['rate']:,.0f} events/s ({args.fraction:g} of the"
        f" AMAS rate), medians of {len(paced)} rounds: p50 {med(p50s):.1f} ms, p99"
        f" {med(p99s):.1f} ms  target p99 <= {P99_MS:g}  {verdict(med(p99s) <= P99_MS)}"
    )
    print(
        f"  each round's p99: {' / '.join(f'{p:.1f}' for p in p99s)} ms; the appends"
        f" themselves (call -> commit, not counted): p50"
        f" {med([percentile(p.append_ms, 0.5) for p in paced]):.1f} ms, p99"
        f" {med([percentile(p.append_ms, 0.99) for p in paced]):.1f} ms"
    )
    for line in _kind("paced", [p.round for p in paced])[1:]:
        print(line)
    disturbed = [r.other for r in bare + amas + [p.round for p in paced] if r.other > DISTURBED]
    if disturbed:
        print(
            f"disturbed: the rest of the machine (other processes, interrupts, steal) used up to"
            f" {max(disturbed):.0%} of a core in {len(disturbed)} rounds: not a quiet machine's"
            " numbers"
        )
    for error, count in out["errors"].items():
        print(f"the event loop reported {count} times: {error}")
    if out["breakdown"]:
        print("one AMAS round's parts, wall ms per call as awaited (loop and disk waits in it):")
    for name, times in out["breakdown"].items():
        print(
            f"  {name:<26}{len(times):>6} calls  mean {sum(times) / len(times):7.3f}"
            f"  p50 {percentile(times, 0.5):7.3f}  p99 {percentile(times, 0.99):7.3f}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=3000, help="per round (3000)")
    parser.add_argument("--paced", type=int, default=3000, help="events per paced round (3000)")
    parser.add_argument("--rounds", type=int, default=5, help="of each kind (5)")
    parser.add_argument("--concurrency", type=int, default=CONCURRENCY, help="bare loop (8)")
    parser.add_argument("--fraction", type=float, default=0.5, help="paced share of the rate")
    parser.add_argument("--breakdown", action="store_true", help="time an attempt's parts")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 1000")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve()
        return 0
    if args.quick:
        args.deliveries, args.paced, args.rounds = 1000, 1000, 2
    print("AMAS webhook benchmark (bench/webhooks.py): deliveries through a node, a bare loop")
    print(
        f"python {sys.version.split()[0]}, nproc {machine.nproc()}, {machine.cpu_model()};"
        f" {machine.versions('uvloop', 'httptools', 'msgspec', 'aiosqlite', 'nats-py')};"
        f" {args.rounds} rounds of {args.deliveries} deliveries, {args.concurrency} in flight;"
        f" paced rounds of {args.paced}"
    )
    receiver = Receiver()
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            out = runner.run(_run(args, receiver))
    finally:
        receiver.close()
    _report(args, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
