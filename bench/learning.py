"""Benchmark of learning that pays: the decision engine against the fixed scheduler, and
the optimizer's policy against the static defaults, in the simulator and then live.

`python bench/learning.py` (repo root, project virtualenv; ~6 minutes) runs, in this
process on uvloop, nodes with their own nats-server and data folder:

1. Assignment. Two nodes, one with AMAS_SCHEDULER=fixed and one with `learned`, each
   with two agents that run the same task type (`echo`, 4 slots each, equal priority);
   `slow-agent` is made 4x slower by AMAS_AGENT_SLOWDOWN. Both get the same bursty
   arrivals (`--bursts` bursts of `--burst` echo tasks of `--delay` s, one every
   `--period` s), in alternating rounds. Completion time is from the task's creation to
   its completion, as the log stamps them. Target: mean >= 20% lower with `learned`.
2. Optimizer, in the simulator: a node at the static defaults (one agent type, 2 agents
   x `--concurrency` slots, no caching) runs a bursty workload whose parameters repeat
   (`--repeat`); the optimizer fits amas_gym_v1 to that window of the log and trains;
   its policy and the static defaults play the same fresh episodes.
3. Optimizer, live: two nodes; one stays at the static defaults (AMAS_OPTIMIZER=off),
   the other runs `act` rounds (each after a window of the workload) until its policy
   keeps things as they are or `--climb` rounds have passed. Then both get the same
   workload in alternating rounds. Target (2 and 3): >= 10% more throughput or >= 10%
   lower p95 latency.

Medians of rounds are printed; each comparison is within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from statistics import fmean
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/learning.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

from actors.agents.catalog import AgentSpec  # noqa: E402
from actors.learning.settings import ConcurrencyLimits, LearningSettings  # noqa: E402
from amas.runtime.node import Node, NodeConfig  # noqa: E402
from bench import machine  # noqa: E402
from bench.figures import med, percentile, verdict  # noqa: E402
from events.commands import SUBMIT_TASK, SubmitTask  # noqa: E402
from events.queries import learning as learning_queries  # noqa: E402
from events.queries import tasks as task_queries  # noqa: E402
from tests.conftest import fresh_config  # noqa: E402

MEAN_CUT = 0.2
OPTIMIZER_GAIN = 0.1


def workers(concurrency: int, names: tuple[str, ...]) -> list[AgentSpec]:
    return [
        AgentSpec(
            agent_id=name,
            agent_type="worker",
            name=name,
            description="runs echo",
            capabilities={},
            task_types=("echo",),
            max_concurrent_tasks=concurrency,
        )
        for name in names
    ]


def node_config(root: Path, **learning: Any) -> NodeConfig:
    config = fresh_config(root)
    config.learning = LearningSettings(**{"optimizer": "off", **learning})
    return config


Schedule = list[tuple[float, dict[str, Any]]]


def bursts(
    count: int, size: int, period: float, delay: float, repeat: float, seed: int
) -> Schedule:
    """(seconds from the start, parameters): `count` bursts of `size` tasks, one every
    `period` s (each task within 50 ms of its burst's start); a share `repeat` of them
    repeat one of a few earlier parameter sets."""
    rng = random.Random(seed)
    schedule: Schedule = []
    for b in range(count):
        for n in range(size):
            parameters: dict[str, Any]
            if rng.random() < repeat:
                parameters = {"delay": delay, "job": rng.randrange(4)}
            else:
                parameters = {"delay": delay, "job": f"{seed}-{b}-{n}"}
            schedule.append((b * period + rng.uniform(0, 0.05), parameters))
    return sorted(schedule, key=lambda item: item[0])


async def play(node: Node, schedule: Schedule) -> list[str]:
    """Submit on schedule (open loop), then wait for every task to end."""
    began = time.monotonic()
    ids: list[str] = []
    for at, parameters in schedule:
        pause = began + at - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        reply = await node.bus.request(
            SUBMIT_TASK, SubmitTask(task_type="echo", parameters=parameters)
        )
        assert reply.ok, reply.message
        ids.append(reply.data["task_id"])
    await node.projections.wait_for(node.store.head)
    for task_id in ids:
        while True:
            task = await task_queries.get_task(node.reader, task_id)
            if task is not None and task["status"] in ("completed", "failed", "cancelled"):
                break
            await asyncio.sleep(0.05)
    return ids


async def completion_times(node: Node, ids: list[str]) -> tuple[list[float], float]:
    """Each task's seconds from created to completed, and the tasks done per second
    from the first creation to the last completion."""
    times, first, last = [], float("inf"), 0.0
    for task_id in ids:
        task = await task_queries.get_task(node.reader, task_id)
        assert task is not None and task["status"] == "completed", task
        created = datetime.fromisoformat(task["created_at"]).timestamp()
        done = datetime.fromisoformat(task["completed_at"]).timestamp()
        times.append(done - created)
        first, last = min(first, created), max(last, done)
    return times, len(ids) / (last - first)


def line(name: str, rounds: list[dict[str, float]]) -> str:
    means = ", ".join(f"{r['mean']:.3f}" for r in rounds)
    return (
        f"  {name:<10} mean {med([r['mean'] for r in rounds]):.3f} s"
        f"  p95 {med([r['p95'] for r in rounds]):.3f} s"
        f"  throughput {med([r['rate'] for r in rounds]):.2f} tasks/s"
        f"  (rounds: means {means})"
    )


async def measure_round(node: Node, schedule: Schedule) -> dict[str, float]:
    times, rate = await completion_times(node, await play(node, schedule))
    return {"mean": fmean(times), "p95": percentile(times, 0.95), "rate": rate}


async def assignment(args: argparse.Namespace, root: Path) -> bool:
    print(
        "\n1. Assignment: two agents run echo (4 slots each), slow-agent 4x slower;"
        f" bursts of {', '.join(map(str, args.burst))} tasks of {args.delay} s"
        f" every {args.period} s, {args.bursts} bursts a round"
    )
    ok = []
    for size in args.burst:
        ok.append(await assignment_at(args, root / f"burst-{size}", size))
    return ok[0]


async def assignment_at(args: argparse.Namespace, root: Path, size: int) -> bool:
    print(f" bursts of {size}:")
    results: dict[str, list[dict[str, float]]] = {"fixed": [], "learned": []}
    nodes: dict[str, Node] = {}
    for mode in results:
        config = node_config(root / mode, scheduler=mode)
        config.agents = workers(4, ("fast-agent", "slow-agent"))
        config.agent_slowdown = {"slow-agent": 4.0}
        nodes[mode] = await Node(config).__aenter__()
    try:
        for r in range(args.rounds):
            schedule = bursts(args.bursts, size, args.period, args.delay, 0.0, seed=r)
            for mode in ("fixed", "learned") if r % 2 == 0 else ("learned", "fixed"):
                results[mode].append(await measure_round(nodes[mode], schedule))
        for mode, rounds in results.items():
            print(line(mode, rounds))
        model = await learning_queries.decision_engine_status(
            nodes["learned"].reader, "learned", 0.05
        )
    finally:
        for node in nodes.values():
            await node.__aexit__(None, None, None)
    fixed = med([r["mean"] for r in results["fixed"]])
    learned = med([r["mean"] for r in results["learned"]])
    cut = 1 - learned / fixed
    p95_cut = 1 - med([r["p95"] for r in results["learned"]]) / med(
        [r["p95"] for r in results["fixed"]]
    )
    metrics = model["metrics"]
    print(
        f"  decision engine: model_version {model['model_version']}, "
        f"{metrics['predictions_made']} decisions, accuracy {metrics['accuracy']}, "
        f"{metrics['explored']} explored, avg decision {metrics['avg_decision_time'] * 1e6:.0f} us"
    )
    print(
        f"  learned vs fixed: mean {cut:+.1%} lower, p95 {p95_cut:+.1%} lower"
        f"  -> {verdict(cut >= MEAN_CUT)} (target: mean >= {MEAN_CUT:.0%} lower)"
    )
    return cut >= MEAN_CUT


async def optimizer(args: argparse.Namespace, root: Path) -> tuple[bool, bool]:
    print(
        f"\n2-3. Optimizer: one agent type, 2 agents x {args.concurrency} slots; bursts of"
        f" {args.opt_burst} echo tasks of {args.opt_delay} s every {args.opt_period} s,"
        f" {args.repeat:.0%} repeating earlier parameters"
    )
    limits = {"worker": ConcurrencyLimits(1, 16)}
    nodes: dict[str, Node] = {}
    for mode in ("static", "optimized"):
        config = node_config(
            root / mode,
            optimizer="off" if mode == "static" else "act",
            optimizer_every=3600.0,  # its rounds are the ones this benchmark runs
            limits=limits,
        )
        config.agents = workers(args.concurrency, ("worker-1", "worker-2"))
        nodes[mode] = await Node(config).__aenter__()
    optimized = nodes["optimized"]
    opt = optimized.optimizer
    opt.window = args.window

    def schedule(seed: int) -> Schedule:
        count = max(1, int(args.window / args.opt_period))
        return bursts(count, args.opt_burst, args.opt_period, args.opt_delay, args.repeat, seed)

    try:
        sim_ok = False
        for step in range(args.climb):
            await play(optimized, schedule(100 + step))
            done = await opt.round()
            assert done is not None, "no workload to fit"
            result = done.result
            if step == 0:
                print(
                    f"  simulator (fitted on the static defaults' window): policy p95"
                    f" {result.trained.p95:.3f} s, {result.trained.completed} done;"
                    f" static p95 {result.static.p95:.3f} s, {result.static.completed} done"
                    f" -> improvement {result.improvement:+.1%}"
                    f" {verdict(result.improvement >= OPTIMIZER_GAIN)}"
                )
                sim_ok = result.improvement >= OPTIMIZER_GAIN
            if done.acted is None:
                print(f"  round {step + 1}: no change")
                break
            acted = done.acted
            print(f"  round {step + 1}: {acted.action} {acted.target} -> {acted.value}")
            await optimized.projections.wait_for(optimized.store.head)
            await asyncio.sleep(0.2)  # the agents take their new configuration from the log
        after = {s.agent_id: s.max_concurrent_tasks for s in optimized.fleet.specs.values()}
        print(f"  configuration after: {after}, caching {sorted(optimized.fleet.runner.caching)}")
        results: dict[str, list[dict[str, float]]] = {"static": [], "optimized": []}
        for r in range(args.rounds):
            plan = schedule(r)
            for mode in ("static", "optimized") if r % 2 == 0 else ("optimized", "static"):
                results[mode].append(await measure_round(nodes[mode], plan))
        for mode, rounds in results.items():
            print(line(mode, rounds))
        await asyncio.sleep(args.window / 4)
        await opt.round()  # judges the applied actions against the windows around them
        status = await learning_queries.optimizer_actions(optimized.reader)
        for action in status[:3]:
            print(
                f"  {action['action']} {action['target']}: reward {action['reward']},"
                f" impact {action['impact']!r}"
            )
    finally:
        for node in nodes.values():
            await node.__aexit__(None, None, None)
    p95 = 1 - med([r["p95"] for r in results["optimized"]]) / med(
        [r["p95"] for r in results["static"]]
    )
    rate = (
        med([r["rate"] for r in results["optimized"]]) / med([r["rate"] for r in results["static"]])
        - 1
    )
    live_ok = p95 >= OPTIMIZER_GAIN or rate >= OPTIMIZER_GAIN
    print(
        f"  live, optimized vs static: p95 {p95:+.1%} lower, throughput {rate:+.1%}"
        f"  -> {verdict(live_ok)} (target: >= {OPTIMIZER_GAIN:.0%} on either)"
    )
    return sim_ok, live_ok


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


async def _run(args: argparse.Namespace) -> list[bool]:
    root = Path(tempfile.mkdtemp(prefix="amas-bench-learning-"))
    ok = [await assignment(args, root)]
    ok += await optimizer(args, root)
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="measured rounds per mode (3)")
    parser.add_argument("--bursts", type=int, default=8, help="bursts per round (8)")
    parser.add_argument(
        "--burst",
        type=lambda text: [int(n) for n in text.split(",")],
        default=[8, 12],
        help="tasks per burst, one comparison each; the target is held at the first (8,12)",
    )
    parser.add_argument("--period", type=float, default=1.5, help="seconds between bursts")
    parser.add_argument("--delay", type=float, default=0.2, help="echo delay, seconds (0.2)")
    parser.add_argument("--concurrency", type=int, default=2, help="static slots per agent (2)")
    parser.add_argument("--opt-burst", type=int, default=16, help="optimizer: tasks per burst")
    parser.add_argument("--opt-period", type=float, default=2.0, help="optimizer: burst period")
    parser.add_argument("--opt-delay", type=float, default=0.3, help="optimizer: echo delay")
    parser.add_argument("--repeat", type=float, default=0.5, help="share of repeated tasks")
    parser.add_argument("--window", type=float, default=30.0, help="optimizer window (30 s)")
    parser.add_argument("--climb", type=int, default=6, help="most optimizer rounds (6)")
    parser.add_argument("--quick", action="store_true", help="2 rounds, 4 bursts, window 12 s")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.bursts, args.window, args.climb = 2, 4, 12.0, 3
    print("AMAS learning benchmark (bench/learning.py)")
    print(
        f"python {sys.version.split()[0]}, nproc {machine.nproc()}, {machine.cpu_model()}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        ok = runner.run(_run(args))
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
