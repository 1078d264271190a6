"""Benchmark of the workflow engine: its own cost per step, and 50 orchestrators at once.

`python bench/workflow.py` (repo root, project virtualenv) starts a node in this process
(on uvloop, as `amas serve` runs it) with the planted fixture repository
(tests/fixtures/planted_repo.py) as its code scope and a fake OpenAI-style vendor in a
subprocess as `deepseek`, answering at once with a ranking that marks every finding
`fix`. Then:

* engine — a workflow of 4 steps that do nothing, run `--noop` times one after another:
  the engine's own cost per step (its events appended at their versions, its state
  folded, the next step scheduled), from each run's first event to its last, / 4;
* orchestrator — the master orchestrator on the fixture, `--runs` times one after
  another: each step's time outside agents and provider calls as the engine records it
  (`engine_ms`: its bookkeeping plus the step's own work, e.g. ruff and git in layer 3),
  median and p99, and each run's wall time;
* at once — `--concurrent` orchestrators triggered together: how many complete, and how
  long the last takes.

Target: the engine's own cost <= 5 ms per step, median (Temporal's published
start-workflow p50 is ~20 ms).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/workflow.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

from actors.agents.scope import CodeScope, NetworkScope, Scopes  # noqa: E402
from actors.providers.catalog import from_env  # noqa: E402
from actors.workflows.steps import Step, StepContext, WorkflowDef  # noqa: E402
from amas.runtime.node import Node, default_workflows  # noqa: E402
from bench import machine  # noqa: E402
from bench.figures import med, percentile, verdict  # noqa: E402
from events.commands import TRIGGER_WORKFLOW, TriggerWorkflow  # noqa: E402
from events.queries import workflows as queries  # noqa: E402
from tests.conftest import fresh_config  # noqa: E402
from tests.fixtures.planted_repo import make_repo  # noqa: E402

KEY = "sk-bench-workflow"
TARGET_MS = 5.0


class Nothing(msgspec.Struct, frozen=True):
    pass


async def _nothing(context: StepContext, params: Any) -> Nothing:
    return Nothing()


NOOP: WorkflowDef[Nothing] = WorkflowDef(
    workflow_type="bench-noop",
    params=Nothing,
    layers=("one", "two"),
    steps=tuple(Step(f"s{n}", "one" if n < 2 else "two", _nothing, Nothing) for n in range(4)),
    result=lambda params, outputs: {"steps": len(outputs)},
)


def _vendor() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.llm.openai_api", "--key", KEY,
         "--text", json.dumps([{"id": f"F{n}", "action": "fix", "priority": 2,
                                "reason": "bench"} for n in range(1, 80)])],
        cwd=ROOT, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    return process, process.stdout.readline().strip()


async def _trigger(node: Node, workflow_type: str, parameters: dict[str, Any]) -> str:
    reply = await node.bus.request(
        TRIGGER_WORKFLOW, TriggerWorkflow(workflow_type=workflow_type, parameters=parameters)
    )
    assert reply.ok, reply
    return str(reply.data["workflow_id"])


async def _ended(node: Node, workflow_id: str, timeout: float = 300.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = await node.store.read_stream(f"workflow-{workflow_id}")
        if events and events[-1].type in ("workflow.completed", "workflow.failed"):
            return {"events": events, "status": events[-1].type.split(".")[1]}
        await asyncio.sleep(0.002)
    raise TimeoutError(workflow_id)


async def _run(args: argparse.Namespace, url: str) -> dict[str, Any]:
    root = Path(tempfile.mkdtemp(prefix="amas-bench-workflow-"))
    repo = make_repo(root / "code" / "shop")
    config = fresh_config(root)
    config.providers = from_env(
        {"AMAS_PROVIDER_DEEPSEEK_API_KEY": KEY, "AMAS_PROVIDER_DEEPSEEK_BASE_URL": url}
    )
    config.scopes = Scopes(NetworkScope.parse("127.0.0.1/32"), CodeScope.parse(None, root / "code"))
    config.workflows = {**default_workflows(), "bench-noop": NOOP}
    orchestrate = {"repository": str(repo.path), "ai_providers": "deepseek"}
    out: dict[str, Any] = {"noop": [], "engine_ms": [], "runs": [], "together": {}}
    async with Node(config) as node:
        for _ in range(20):  # warm
            await _ended(node, await _trigger(node, "bench-noop", {}))
        for _ in range(args.noop):
            ended = await _ended(node, await _trigger(node, "bench-noop", {}))
            events = ended["events"]
            span = (events[-1].ts - events[0].ts).total_seconds()
            out["noop"].append(span * 1000 / len(NOOP.steps))
        for _ in range(args.runs):
            began = time.perf_counter()
            ended = await _ended(node, await _trigger(node, "orchestrator", orchestrate))
            out["runs"].append(time.perf_counter() - began)
            assert ended["status"] == "completed", ended["events"][-1].data
            out["engine_ms"] += [
                e.data.engine_ms for e in ended["events"] if e.type == "workflow.step_completed"
            ]
        began = time.perf_counter()
        ids = await asyncio.gather(
            *(_trigger(node, "orchestrator", orchestrate) for _ in range(args.concurrent))
        )
        ends = await asyncio.gather(*(_ended(node, i, timeout=900) for i in ids))
        out["together"] = {
            "completed": sum(e["status"] == "completed" for e in ends),
            "seconds": time.perf_counter() - began,
            "failed": [str(e["events"][-1].data) for e in ends if e["status"] != "completed"][:3],
        }
        row = await queries.get_workflow(node.reader, ids[0])
        out["sample"] = row["result"]["management"]["metrics"] if row and row["result"] else {}
    return out


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--noop", type=int, default=300, help="no-op workflows (300)")
    parser.add_argument("--runs", type=int, default=10, help="orchestrator runs (10)")
    parser.add_argument("--concurrent", type=int, default=50, help="at once (50)")
    parser.add_argument("--quick", action="store_true", help="50 no-ops, 3 runs, 10 at once")
    args = parser.parse_args()
    if args.quick:
        args.noop, args.runs, args.concurrent = 50, 3, 10
    print("AMAS workflow benchmark (bench/workflow.py): the engine's cost, the orchestrator")
    print(
        f"python {sys.version.split()[0]}, nproc {machine.nproc()}, {machine.cpu_model()}; "
        f"{machine.versions('msgspec', 'nats-py', 'ruff')}; {args.noop} no-op workflows, "
        f"{args.runs} orchestrator runs, {args.concurrent} at once"
    )
    vendor, url = _vendor()
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            out = runner.run(_run(args, url))
    finally:
        vendor.terminate()
        vendor.wait()
    noop = out["noop"]
    engine = out["engine_ms"]
    held = verdict(med(noop) <= TARGET_MS)
    print(
        f"engine's own cost per step (no-op steps): median {med(noop):.3f} ms, p99 "
        f"{percentile(noop, 0.99):.3f} ms  target <= {TARGET_MS:g}  {held}"
    )
    print(
        f"orchestrator steps outside agents and providers (engine_ms): median {med(engine):.1f}"
        f" ms, p99 {percentile(engine, 0.99):.1f} ms; a run {med(out['runs']):.2f} s (median)"
    )
    together = out["together"]
    print(
        f"{args.concurrent} orchestrators at once: {together['completed']} completed in "
        f"{together['seconds']:.1f} s  {verdict(together['completed'] == args.concurrent)}"
        + (f" ({together['failed']})" if together["failed"] else "")
    )
    print(f"a run's outcome: {out['sample']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
