"""What one webhook POST costs this process, for each HTTP client we considered.

`python bench/webhook_client.py` (repo root, project virtualenv) starts the webhook
receiver fake in a subprocess (tests/fakes/webhook_receiver.py: 200 at once, keep-alive),
then, in interleaved rounds, POSTs the same signed ~300-byte delivery to its pinned
address with each client, `--concurrency` at a time:

* amas     — actors/webhooks/transport.py: asyncio protocols + httptools (the choice);
* h11      — the same on asyncio streams with h11 (pure Python), a minimal client here;
* httpx    — httpx.AsyncClient (its connection pool, h11 underneath);
* aiohttp  — aiohttp.ClientSession (its C parser), if installed (`pip install aiohttp`).

Each client keeps its connections alive, sends Host: with the URL's host, follows no
redirect and reads a bounded body. It prints, per client, requests/s and CPU µs per
request of this process (the receiver's CPU is its own), medians of `--reps` rounds, and
what signing a delivery costs. The event loop is uvloop, as `amas serve` runs
(`--loop asyncio` for the stdlib's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/webhook_client.py` puts bench/ first
    sys.path.insert(0, str(ROOT))

import h11  # noqa: E402
import httpx  # noqa: E402

from actors.webhooks.guard import Pinned, Target  # noqa: E402
from actors.webhooks.signing import new_secret, payload, standard_headers  # noqa: E402
from actors.webhooks.transport import Transport  # noqa: E402
from bench import machine  # noqa: E402
from bench.figures import med  # noqa: E402

CAP = 64 * 1024
Post = Callable[[], Awaitable[int]]
"""One delivery; returns the status."""


def _receiver() -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "tests.fakes.webhook_receiver", "--port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


def _delivery(secret: str) -> tuple[dict[str, str], bytes]:
    data = {"task_id": "task-abc123", "status": "completed", "results_summary": {"score": 85}}
    body = payload("task.completed", "2025-01-07T12:25:00Z", data, secret)
    return standard_headers(secret, "evt_01JH2Q6W8Z", int(time.time()), body), body


class H11Client:
    """Keep-alive connections on asyncio streams, answers parsed by h11."""

    def __init__(self, pinned: Pinned) -> None:
        self.pinned = pinned
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, h11.Connection]] = []

    async def post(self, headers: dict[str, str], body: bytes) -> int:
        target = self.pinned.target
        if self.idle:
            reader, writer, conn = self.idle.pop()
        else:
            reader, writer = await asyncio.open_connection(self.pinned.address, target.port)
            conn = h11.Connection(h11.CLIENT)
        fields = [("host", target.authority), ("content-length", str(len(body)))]
        request = h11.Request(
            method="POST", target=target.path_qs, headers=fields + list(headers.items())
        )
        for event in (request, h11.Data(data=body), h11.EndOfMessage()):
            writer.write(conn.send(event) or b"")
        status, read = 0, 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(CAP)
                read += len(data)
                conn.receive_data(data)
            elif isinstance(event, h11.Response):
                status = event.status_code
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed) or read >= CAP:
                break
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
            self.idle.append((reader, writer, conn))
        else:
            writer.close()
        return status

    async def aclose(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


@contextlib.asynccontextmanager
async def _clients(pinned: Pinned, headers: dict[str, str], body: bytes) -> Any:
    """name -> one POST of the delivery, for every client that is installed."""
    target = pinned.target
    url = f"{target.scheme}://{pinned.address}:{target.port}{target.path_qs}"
    with_host = {"host": target.authority, **headers, "content-type": "application/json"}
    transport = Transport()
    h11_client = H11Client(pinned)
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx.AsyncClient(trust_env=False, timeout=15.0, limits=httpx.Limits())
        )

        async def amas() -> int:
            sent = await transport.post(pinned, headers, body)
            assert sent.status is not None, sent
            return sent.status

        async def via_h11() -> int:
            return await h11_client.post(headers, body)

        async def via_httpx() -> int:
            async with http.stream("POST", url, headers=with_host, content=body) as answer:
                async for _ in answer.aiter_raw():
                    pass  # the bench's answers are empty; a real one would stop at CAP
                return answer.status_code

        clients: dict[str, Post] = {"amas": amas, "h11": via_h11, "httpx": via_httpx}
        try:
            import aiohttp
        except ImportError:
            print("aiohttp: not installed, skipped (pip install aiohttp)")
        else:
            session = await stack.enter_async_context(
                aiohttp.ClientSession(
                    timeout=aiohttp.ClientTimeout(total=15.0), skip_auto_headers=["User-Agent"]
                )
            )

            async def via_aiohttp() -> int:
                async with session.post(
                    url, headers=with_host, data=body, allow_redirects=False
                ) as answer:
                    await answer.content.read(CAP)
                    return answer.status

            clients["aiohttp"] = via_aiohttp
        try:
            yield clients
        finally:
            await transport.aclose()
            await h11_client.aclose()


async def _round(post: Post, requests: int, concurrency: int) -> tuple[float, float]:
    """(requests/s, CPU µs per request) of `requests` POSTs, `concurrency` at a time."""
    left = requests

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            status = await post()
            assert status == 200, status

    cpu, wall = time.process_time(), time.perf_counter()  # ns, not os.times()'s 10 ms ticks
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return requests / wall, cpu / requests * 1e6


async def _run(url: str, requests: int, concurrency: int, reps: int) -> None:
    host, _, port = url.removeprefix("http://").partition("/")[0].partition(":")
    pinned = Pinned(
        target=Target(scheme="http", host="hooks.test", port=int(port), path_qs="/hook"),
        address=host,
    )
    headers, body = _delivery(new_secret())
    async with _clients(pinned, headers, body) as clients:
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in clients}
        for post in clients.values():  # warm up: connections open, code paths hot
            await _round(post, min(200, requests), concurrency)
        for _ in range(reps):
            for name, post in clients.items():
                results[name].append(await _round(post, requests, concurrency))
    print(f"{'client':<10}{'requests/s':>12}{'CPU µs/request':>16}")
    for name, rounds in results.items():
        rate, cpu = med([r for r, _ in rounds]), med([c for _, c in rounds])
        print(f"{name:<10}{rate:>12,.0f}{cpu:>16,.0f}")


def _signing_us(count: int = 5000) -> float:
    secret = new_secret()
    started = time.perf_counter()
    for _ in range(count):
        _delivery(secret)
    return (time.perf_counter() - started) / count * 1e6


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="per client and round")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    args = parser.parse_args()
    print(
        f"{machine.cpu_model()}, {machine.nproc()} CPUs; Python {sys.version.split()[0]},"
        f" {args.loop}; {machine.versions('httptools', 'h11', 'httpx', 'aiohttp', 'uvloop')}"
    )
    print(
        f"{args.requests} POSTs per client and round, {args.concurrency} at a time,"
        f" medians of {args.reps} rounds; this process only (pid {os.getpid()})"
    )
    process, url = _receiver()
    try:
        if args.loop == "uvloop":
            import uvloop

            uvloop.run(_run(url, args.requests, args.concurrency, args.reps))
        else:
            asyncio.run(_run(url, args.requests, args.concurrency, args.reps))
    finally:
        process.terminate()
        process.wait()
    print(f"signing a delivery (the seed payload and the three headers): {_signing_us():.0f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
