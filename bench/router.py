"""Benchmark of the AI router's overhead and of its failover, against local fake vendors.

`python bench/router.py` (repo root, project virtualenv) starts two fake OpenAI-style
vendors in subprocesses on 127.0.0.1 (tests/fakes/llm: one answers every completion,
one answers 500 to every completion) and a node in this process with `deepseek` on the
failing vendor and `glm` on the answering one (max_retries 0; the breaker set never to
open, so every call fails over). Then, in interleaved rounds, it times:

* direct  — the provider client's own call to the answering vendor (httpx, no router);
* routed  — the same completion as the workflows will ask for it: a `Complete` command
            over NATS to the router actor, through the glm provider actor, answer back;
* refused — the floor under `routed`: a command the router refuses at once (an unknown
            provider): the NATS round trip and the router's dispatch, nothing else;
* http    — POST /api/v1/ai/complete over HTTP (uvicorn) for the same;
* failover — a routed call that meets deepseek's 500 first and is answered by glm.

It prints medians and p99s, the router's overhead (routed - direct, paired per round:
target median <= 1 ms, p99 <= 5 ms; LiteLLM publishes 2-4 ms) and the time failover adds
(failover - routed - the 500's own direct time: target <= 5 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/router.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from actors.providers.breaker import BreakerPolicy  # noqa: E402
from actors.providers.catalog import from_env  # noqa: E402
from actors.providers.clients import make_client  # noqa: E402
from actors.providers.clients.base import ChatRequest, Message  # noqa: E402
from actors.providers.errors import ProviderError  # noqa: E402
from actors.providers.router import RouterSettings  # noqa: E402
from amas.runtime.node import Node  # noqa: E402
from bench import machine  # noqa: E402
from bench.figures import med, percentile, verdict  # noqa: E402
from events.commands import COMPLETE, ChatMessage, Complete  # noqa: E402
from tests.conftest import ADMIN_KEY, fresh_config, serving  # noqa: E402

KEY = "sk-bench-0123456789"
NEVER = BreakerPolicy(failures_in_a_row=10**9, failure_rate=2.0)
OVERHEAD_MEDIAN_MS, OVERHEAD_P99_MS, FAILOVER_MS = 1.0, 5.0, 5.0


def _vendor(fail: int | None = None) -> tuple[subprocess.Popen[str], str]:
    command = [sys.executable, "-m", "tests.fakes.llm.openai_api", "--key", KEY]
    if fail is not None:
        command += ["--fail", str(fail)]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


async def _run(rounds: int, good: str, bad: str) -> dict[str, list[float]]:
    config = fresh_config(Path(tempfile.mkdtemp(prefix="amas-bench-router-")))
    config.providers = from_env(
        {
            "AMAS_PROVIDER_DEEPSEEK_API_KEY": KEY,
            "AMAS_PROVIDER_DEEPSEEK_BASE_URL": bad,
            "AMAS_PROVIDER_DEEPSEEK_MAX_RETRIES": "0",
            "AMAS_PROVIDER_GLM_API_KEY": KEY,
            "AMAS_PROVIDER_GLM_BASE_URL": good,
        }
    )
    config.router = RouterSettings(breaker=NEVER)
    messages = [ChatMessage("user", "Say hello")]
    request = ChatRequest(messages=[Message("user", "Say hello")], model="glm-4.7")
    names = ("direct", "routed", "refused", "http", "failing", "failover")
    times: dict[str, list[float]] = {name: [] for name in names}
    async with (
        Node(config) as node,
        serving(node) as api,
        httpx.AsyncClient(trust_env=False) as http,
    ):
        direct = make_client("openai", http, good, KEY)
        failing = make_client("openai", http, bad, KEY)
        body = {"messages": [{"role": "user", "content": "Say hello"}], "providers": ["glm"]}
        headers = {"X-API-Key": ADMIN_KEY}

        async def routed(providers: list[str]) -> float:
            started = time.perf_counter()
            reply = await node.bus.request(
                COMPLETE, Complete(messages=messages, providers=providers), 30.0
            )
            took = time.perf_counter() - started
            assert reply.ok and reply.data["provider"] == "glm", reply
            return took

        async def refused() -> float:
            """The floor: a command over NATS that the router answers at once (an unknown
            provider), no provider actor, no vendor, no event."""
            started = time.perf_counter()
            reply = await node.bus.request(
                COMPLETE, Complete(messages=messages, providers=["none"]), 30.0
            )
            took = time.perf_counter() - started
            assert not reply.ok
            return took

        async def timed_direct() -> float:
            started = time.perf_counter()
            await direct.complete(request, timeout=30.0)
            return time.perf_counter() - started

        async def timed_failing() -> float:
            started = time.perf_counter()
            with contextlib.suppress(ProviderError):
                await failing.complete(request, timeout=30.0)
            return time.perf_counter() - started

        async def timed_http() -> float:
            started = time.perf_counter()
            response = await api.post("/ai/complete", json=body, headers=headers)
            took = time.perf_counter() - started
            assert response.status_code == 200, response.text
            return took

        for _ in range(50):  # warm: connections, caches, the JIT-less interpreter's paths
            await timed_direct()
            await routed(["glm"])
            await timed_http()
            await routed(["deepseek", "glm"])
        for _ in range(rounds):
            times["direct"].append(await timed_direct())
            times["routed"].append(await routed(["glm"]))
            times["refused"].append(await refused())
            times["http"].append(await timed_http())
            times["failing"].append(await timed_failing())
            times["failover"].append(await routed(["deepseek", "glm"]))
    return times


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop, as `amas serve` runs the node (none: asyncio's own loop)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def _ms(values: list[float]) -> str:
    return f"median {med(values) * 1e3:.3f} ms, p99 {percentile(values, 0.99) * 1e3:.3f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=1000, help="timed rounds (default 1000)")
    parser.add_argument("--quick", action="store_true", help="200 rounds: a smoke run")
    args = parser.parse_args()
    rounds = 200 if args.quick else args.rounds
    print("AMAS router benchmark (bench/router.py): overhead and failover, local fake vendors")
    loop = "uvloop" if _loop_factory() else "asyncio"
    print(
        f"python {sys.version.split()[0]}, nproc {machine.nproc()}, {machine.cpu_model()}; "
        f"{machine.versions('httpx', 'nats-py', 'pykka', 'uvicorn')}; {rounds} rounds; "
        f"the node on {loop}'s loop, as amas serve runs it"
    )
    good, good_url = _vendor()
    bad, bad_url = _vendor(fail=500)
    try:
        print(f"vendors: {good_url} answers, {bad_url} answers 500 (subprocesses)")
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            times = runner.run(_run(rounds, good_url, bad_url))
    finally:
        for process in (good, bad):
            process.terminate()
            process.wait()
    overhead = [r - d for r, d in zip(times["routed"], times["direct"], strict=True)]
    added = [
        f - r - x
        for f, r, x in zip(times["failover"], times["routed"], times["failing"], strict=True)
    ]
    for name in times:
        print(f"  {name:<9} {_ms(times[name])}")
    over_med, over_p99 = med(overhead) * 1e3, percentile(overhead, 0.99) * 1e3
    print(
        f"router overhead (routed - direct, paired): median {over_med:.3f} ms  target <= "
        f"{OVERHEAD_MEDIAN_MS:g}  {verdict(over_med <= OVERHEAD_MEDIAN_MS)}; p99 "
        f"{over_p99:.3f} ms  target <= {OVERHEAD_P99_MS:g}  {verdict(over_p99 <= OVERHEAD_P99_MS)}"
    )
    floor = med(times["refused"]) * 1e3
    print(
        f"  of which the NATS round trip to the router and back (refused): {floor:.3f} ms; "
        f"the provider actor, the call's event and its record: {over_med - floor:.3f} ms"
    )
    http_over = med([h - d for h, d in zip(times["http"], times["direct"], strict=True)]) * 1e3
    print(f"POST /ai/complete over HTTP - direct: median {http_over:.3f} ms")
    add_med = med(added) * 1e3
    print(
        f"failover adds (failover - routed - the 500's own time): median {add_med:.3f} ms, "
        f"p99 {percentile(added, 0.99) * 1e3:.3f} ms  target <= {FAILOVER_MS:g}  "
        f"{verdict(add_med <= FAILOVER_MS)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
