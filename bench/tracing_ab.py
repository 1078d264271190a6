"""`python bench/pipeline.py --tracing`: what tracing costs the HTTP pipeline, A/B in one run.

Nodes (`amas serve`, each with its embedded nats-server, its own data folder and free
loopback ports) run side by side, idle but for the one being measured:

* **off**: no OTEL_* variable (the default): no span, a minted traceparent per request;
* **ratio**: `OTEL_TRACES_SAMPLER=parentbased_traceidratio`, `_ARG=--ratio` (the README's
  recommended production ratio), exporting over OTLP/HTTP to a collector this process
  runs (bench/otlp_collector.py: it parses each export and counts the spans);
* **100%**: `parentbased_always_on`, to a second collector;
* **before** (with `--baseline REF`): the code of commit REF, checked out in a temporary
  git worktree and served from there, no OTEL_* variable: what "off" costs against the
  code before tracing existed.

Rounds alternate between the nodes (the order reversed every round, so a drift in the
machine's speed hits each alike): a saturated closed loop of `--http-tasks` echo tasks
POSTed over `--http-connections` keep-alive connections, as bench/pipeline.py's HTTP
path runs it. Per node it prints the median tasks/s, the node's CPU per task (from
/proc, all its threads), the spans the collector received per task and, from those, the
CPU per recorded span (the node's extra CPU per task against "off", over its spans per
task). The target: at the recommended ratio tracing keeps >= 90% of "off"'s throughput.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nats
from nats.aio.client import Client

from bench import machine
from bench.figures import med, verdict
from bench.otlp_collector import Collector
from bench.pipeline import (
    CLIENTS,
    ROOT,
    TERMINAL_SUBJECTS,
    Completions,
    CpuProbe,
    HttpPoster,
    NodeProcess,
    closed_loop,
    http_sender,
    measure,
    start_node,
)

TARGET_KEPT = 0.90


@dataclass
class Subject:
    """One node under test and what was measured on it."""

    name: str
    env: dict[str, str]
    cwd: Path = ROOT
    collector: Collector | None = None
    node: NodeProcess | None = None
    completions: Completions = field(default_factory=Completions)
    probe: CpuProbe | None = None
    http: HttpPoster | None = None
    nc: Client | None = None
    rates: list[float] = field(default_factory=list)
    cpu_per_task: list[float] = field(default_factory=list)
    """node CPU seconds per completed task, per round"""
    spans_per_task: list[float] = field(default_factory=list)
    lost: int = 0


def subjects(
    args: argparse.Namespace, ratio_collector: Collector, full: Collector
) -> list[Subject]:
    quick_export = {"OTEL_BSP_SCHEDULE_DELAY": "1000"}  # spans of a round reach it within it
    made = [
        Subject("off", {}),
        Subject(
            f"ratio {args.ratio:g}",
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": ratio_collector.endpoint,
                "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
                "OTEL_TRACES_SAMPLER_ARG": f"{args.ratio:g}",
                **quick_export,
            },
            collector=ratio_collector,
        ),
        Subject(
            "100%",
            {
                "OTEL_EXPORTER_OTLP_ENDPOINT": full.endpoint,
                "OTEL_TRACES_SAMPLER": "parentbased_always_on",
                **quick_export,
            },
            collector=full,
        ),
    ]
    return made


async def _start(subject: Subject, tmp: Path, args: argparse.Namespace) -> None:
    folder = tmp / subject.name.replace(" ", "-").replace("%", "pc")
    folder.mkdir()
    subject.node = node = await start_node(folder, env=subject.env, cwd=subject.cwd)
    subject.probe = CpuProbe(node.process.pid, node.nats_pid)
    subject.nc = await nats.connect(node.nats_url, name=f"amas-bench-tracing-{subject.name}")
    for terminal in TERMINAL_SUBJECTS:
        await subject.nc.subscribe(
            terminal,
            cb=subject.completions.on_event,
            pending_msgs_limit=-1,
            pending_bytes_limit=-1,
        )
    await subject.nc.flush()
    subject.http = CLIENTS["raw"](node.base_url, args.http_connections, args.timeout)
    await subject.http.open()


async def _round(subject: Subject, args: argparse.Namespace, count: int, record: bool) -> None:
    assert subject.http is not None and subject.probe is not None and subject.node is not None
    spans_before = subject.collector.spans if subject.collector else 0
    before = subject.probe.sample()
    run = await measure(
        f"{subject.name}",
        count,
        closed_loop(http_sender(subject.http), args.http_connections),
        subject.completions,
        subject.probe,
        args.stall,
    )
    after = subject.probe.sample()
    if subject.collector is not None:
        await subject.collector.settled()
    if not subject.node.alive():
        raise RuntimeError(f"node {subject.name} died:\n{subject.node.tail()}")
    if not record:
        return
    done = max(len(run.completed), 1)
    subject.lost += run.lost
    subject.rates.append(run.rate)
    subject.cpu_per_task.append((after["node"] - before["node"]) / done)
    spans = (subject.collector.spans - spans_before) if subject.collector else 0
    subject.spans_per_task.append(spans / done)
    print(
        f"  {subject.name:<10} {run.rate:>7,.0f} tasks/s  node CPU "
        f"{subject.cpu_per_task[-1] * 1000:5.2f} ms/task  "
        f"{subject.spans_per_task[-1]:5.2f} spans/task"
        + (f"  ! {'; '.join(run.problems())}" if run.problems() else ""),
        flush=True,
    )


def _worktree(ref: str, where: Path) -> Path:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(where), ref],
        check=True,
        capture_output=True,
    )
    return where


def _drop_worktree(where: Path) -> None:
    subprocess.run(
        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(where)],
        check=False,
        capture_output=True,
    )


async def run(args: argparse.Namespace, tmp: Path) -> int:
    async with Collector() as ratio_collector, Collector() as full:
        tested = subjects(args, ratio_collector, full)
        baseline: Path | None = None
        if args.baseline:
            baseline = _worktree(args.baseline, tmp / "baseline-checkout")
            tested.insert(0, Subject("before", {}, cwd=baseline))
        try:
            for subject in tested:
                await _start(subject, tmp, args)
            print("warm-up ...", flush=True)
            for subject in tested:
                await _round(subject, args, args.warmup, record=False)
            for number in range(args.rounds):
                order = tested if number % 2 == 0 else tested[::-1]
                print(f"round {number + 1} of {args.rounds}", flush=True)
                for subject in order:
                    await _round(subject, args, args.http_tasks, record=True)
        finally:
            for subject in tested:
                if subject.http is not None:
                    await subject.http.aclose()
                if subject.nc is not None:
                    with contextlib.suppress(Exception):
                        await subject.nc.drain()
                if subject.node is not None:
                    subject.node.stop()
            if baseline is not None:
                _drop_worktree(baseline)
        _report(args, tested)
    return 1 if any(s.lost for s in tested) else 0


def _report(args: argparse.Namespace, tested: list[Subject]) -> None:
    by_name = {s.name: s for s in tested}
    off = by_name["off"]
    off_rate, off_cpu = med(off.rates), med(off.cpu_per_task)
    print(
        f"\nmedians of {args.rounds} rounds, {args.http_tasks:,} tasks each, "
        f"{args.http_connections} connections, HTTP saturated:"
    )
    print(
        f"  {'node':<10} {'tasks/s':>8} {'of off':>7} {'CPU ms/task':>12} "
        f"{'spans/task':>11} {'CPU us/span':>12}"
    )
    for subject in tested:
        rate, cpu, spans = (
            med(subject.rates),
            med(subject.cpu_per_task),
            med(subject.spans_per_task),
        )
        per_span = f"{(cpu - off_cpu) / spans * 1e6:12.1f}" if spans > 0 else f"{'-':>12}"
        print(
            f"  {subject.name:<10} {rate:>8,.0f} {rate / off_rate:>7.1%} {cpu * 1000:>12.3f} "
            f"{spans:>11.2f} {per_span}"
        )
    ratio = by_name[f"ratio {args.ratio:g}"]
    full = by_name["100%"]
    pairs = [r / o for r, o in zip(ratio.rates, off.rates, strict=True)]
    kept = med(ratio.rates) / off_rate
    print(
        f"\ntracing at the recommended ratio {args.ratio:g} keeps {kept:.1%} of the HTTP "
        f"throughput with tracing off (per round: {', '.join(f'{p:.1%}' for p in pairs)}); "
        f"target >= {TARGET_KEPT:.0%}  {verdict(kept >= TARGET_KEPT)}"
    )
    print(
        f"tracing at 100% keeps {med(full.rates) / off_rate:.1%} "
        f"({med(full.spans_per_task):.1f} spans per task, "
        f"{(med(full.cpu_per_task) - off_cpu) * 1e6 / max(med(full.spans_per_task), 1e-9):.0f} us "
        "of node CPU per span: make, end, batch, encode, POST)"
    )
    if "before" in by_name:
        before = by_name["before"]
        print(
            f"off against {args.baseline} (before tracing): {off_rate / med(before.rates):.1%} of "
            f"its throughput, {(off_cpu - med(before.cpu_per_task)) * 1e6:+.0f} us of node CPU "
            "per task"
        )
    lost = sum(s.lost for s in tested)
    print(f"{'LOST: ' + str(lost) + ' tasks' if lost else 'every task completed'}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("--tracing (what tracing costs, A/B)")
    group.add_argument(
        "--tracing",
        action="store_true",
        help="compare tracing off, at --ratio and at 100%% (and --baseline) instead",
    )
    group.add_argument(
        "--ratio", type=float, default=0.05, help="the sampling ratio to measure (default 0.05)"
    )
    group.add_argument("--rounds", type=int, default=5, help="rounds over the nodes (default 5)")
    group.add_argument(
        "--baseline",
        metavar="REF",
        default=None,
        help="also serve the code of this commit (a temporary git worktree), tracing off",
    )


def main(args: argparse.Namespace) -> int:
    print("AMAS tracing benchmark (bench/pipeline.py --tracing): HTTP echo tasks, A/B")
    print(
        machine.versions("opentelemetry-sdk", "opentelemetry-exporter-otlp-proto-http", "uvicorn")
    )
    tmp = Path(tempfile.mkdtemp(prefix="amas-bench-tracing-", dir=args.dir))
    try:
        return asyncio.run(run(args, tmp))
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"kept {tmp}")
