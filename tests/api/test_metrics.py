"""GET /metrics and /metrics/history on a real node: figures from the projections and the
host, moving exactly as the tasks these tests run, and kept across restarts and replays.

The module's node has one agent (osint-agent) with one slot, so a second task waits.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import pytest_asyncio

from actors.agents.catalog import default_agents
from amas.runtime.node import Node, NodeConfig
from events.queries.metrics import HOST_METRICS, METRICS, PERIODS, TASK_METRICS
from tests.api.support import (
    assert_envelope,
    get_json,
    settled_metrics,
    submit_echo,
    wait_status,
)
from tests.conftest import WAIT, fresh_config, serving
from tests.served import run_cli

pytestmark = pytest.mark.asyncio(loop_scope="module")

AGENT = "osint-agent"


def one_slot_config(root: Path) -> NodeConfig:
    [spec] = [s for s in default_agents() if s.agent_id == AGENT]
    return dataclasses.replace(
        fresh_config(root),
        agents=[msgspec.structs.replace(spec, max_concurrent_tasks=1)],
        metrics_sample_seconds=0.2,
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        Node(one_slot_config(tmp_path_factory.mktemp("node"))) as node,
        serving(node) as client,
    ):
        yield client


def history_total(body: dict[str, Any], per_point: float) -> float:
    return round(sum((p["value"] or 0) * per_point for p in body["data_points"]), 6)


async def test_metrics_have_the_seed_shape_with_the_hosts_figures(api, eventually):
    await eventually(lambda: _cpu_known(api), "the sampler's first sample")
    body = await get_json(api, "/metrics")

    assert set(body) == {"timestamp", "system", "performance", "agents"}
    assert datetime.fromisoformat(body["timestamp"]).tzinfo == UTC
    system = body["system"]
    for figure in ("cpu_usage", "memory_usage", "disk_usage"):
        assert 0.0 <= system[figure] <= 100.0, system
    assert system["memory_usage"] > 0 and system["disk_usage"] > 0
    assert set(system["network_io"]) == {"bytes_sent", "bytes_received"}
    assert all(isinstance(v, int) and v >= 0 for v in system["network_io"].values())
    assert set(body["performance"]) == {
        "active_tasks",
        "queued_tasks",
        "completed_tasks_1h",
        "failed_tasks_1h",
        "avg_task_duration",
    }
    assert body["agents"] == {"active": 0, "idle": 1, "error": 0}


async def _cpu_known(api: httpx.AsyncClient) -> bool:
    return (await get_json(api, "/metrics"))["system"]["cpu_usage"] is not None


async def test_completed_and_failed_tasks_count_exactly_the_tasks_run(api, eventually):
    before = (await get_json(api, "/metrics"))["performance"]
    throughput_before = history_total(await get_json(api, "/metrics/history", period="1h",
                                                metric="throughput"), 5)  # fmt: skip
    done = [await submit_echo(api, delay=0.05) for _ in range(3)]
    for task_id in done:
        await wait_status(api, task_id, "completed")
    configured = await api.put(f"/agents/{AGENT}/config", json={"timeout": 0.2})
    assert configured.status_code == 200, configured.text
    try:
        failing = await submit_echo(api, max_attempts=1, delay=5)
        await wait_status(api, failing, "failed")
    finally:
        await api.put(f"/agents/{AGENT}/config", json={"timeout": 300})

    after = await settled_metrics(
        api,
        eventually,
        completed_tasks_1h=before["completed_tasks_1h"] + 3,
        failed_tasks_1h=before["failed_tasks_1h"] + 1,
    )

    performance = after["performance"]
    assert performance["active_tasks"] == performance["queued_tasks"] == 0
    assert 0.05 <= performance["avg_task_duration"] < WAIT
    throughput = await get_json(api, "/metrics/history", period="1h", metric="throughput")
    assert history_total(throughput, 5) == throughput_before + 3  # tasks per minute, 5 min
    rates = await get_json(api, "/metrics/history", period="1h", metric="success_rate")
    finished = [p["value"] for p in rates["data_points"] if p["value"] is not None]
    assert finished and min(finished) < 1.0
    times = await get_json(api, "/metrics/history", period="24h", metric="response_time")
    assert [p["value"] for p in times["data_points"] if p["value"] is not None][-1] >= 0.05
    info = (await get_json(api, "/system/info"))["performance"]
    completed, failed = performance["completed_tasks_1h"], performance["failed_tasks_1h"]
    assert info == {
        "avg_response_time": performance["avg_task_duration"],
        "throughput": round(completed / 60, 3),
        "success_rate": round(completed / (completed + failed), 4),
    }


async def test_queue_depth_shows_the_tasks_waiting_for_the_busy_agent(api, eventually):
    busy = await submit_echo(api, delay=30)
    await wait_status(api, busy, "in_progress")
    waiting = [await submit_echo(api) for _ in range(2)]
    try:
        body = await settled_metrics(api, eventually, queued_tasks=2, active_tasks=1)
        assert body["agents"] == {"active": 1, "idle": 0, "error": 0}

        async def depth_shown(agent_id: str | None) -> bool:
            params = {"agent_id": agent_id} if agent_id else {}
            history = await get_json(
                api, "/metrics/history", period="1h", metric="queue_depth", **params
            )
            return history["data_points"][-1]["value"] >= 2

        await eventually(lambda: depth_shown(None), "the queue in the history")
        await eventually(lambda: depth_shown(AGENT), "the agent's queue in the history")
    finally:
        for task_id in [*waiting, busy]:
            await api.delete(f"/tasks/{task_id}")
    await settled_metrics(api, eventually, queued_tasks=0, active_tasks=0)


@pytest.mark.parametrize("period", list(PERIODS))
async def test_every_metric_has_evenly_spaced_points_over_each_period(api, period):
    length, step = PERIODS[period]
    for metric in METRICS:
        asked = datetime.now(UTC)
        body = await get_json(api, "/metrics/history", period=period, metric=metric)
        answered = datetime.now(UTC)

        assert (body["metric"], body["period"], body["interval_seconds"]) == (metric, period, step)
        stamps = [datetime.fromisoformat(p["timestamp"]) for p in body["data_points"]]
        assert len(stamps) == length // step
        assert {(b - a).total_seconds() for a, b in itertools.pairwise(stamps)} == {step}
        assert stamps[-1] <= answered and asked < stamps[-1] + timedelta(seconds=step)
    cpu = await get_json(api, "/metrics/history", period=period, metric="cpu_usage")
    # the last bucket may have begun a moment ago, before its first sample
    assert any(p["value"] is not None for p in cpu["data_points"][-2:])


@pytest.mark.parametrize(
    ("params", "parameter", "valid"),
    [
        ({"period": "2h", "metric": "throughput"}, "period", list(PERIODS)),
        ({"period": "1h", "metric": "latency"}, "metric", list(METRICS)),
    ],
)
async def test_an_unknown_period_or_metric_is_400_naming_the_valid_ones(
    api, params, parameter, valid
):
    response = await api.get("/metrics/history", params=params)

    error = assert_envelope(response, 400, "INVALID_PARAMETER")
    assert error["details"]["parameter"] == parameter
    assert error["details"]["valid"] == valid
    assert all(name in error["message"] for name in valid)


async def test_agent_id_narrows_task_metrics_and_must_name_an_agent(api):
    for metric in TASK_METRICS:
        body = await get_json(api, "/metrics/history", period="6h", metric=metric, agent_id=AGENT)
        assert body["agent_id"] == AGENT
    assert_envelope(
        await api.get(
            "/metrics/history", params={"period": "1h", "metric": "throughput", "agent_id": "x"}
        ),
        404,
        "NOT_FOUND",
    )
    for metric in HOST_METRICS:
        response = await api.get(
            "/metrics/history", params={"period": "1h", "metric": metric, "agent_id": AGENT}
        )
        assert_envelope(response, 400, "INVALID_PARAMETER")


async def test_a_missing_period_or_metric_is_a_validation_error(api):
    assert_envelope(await api.get("/metrics/history", params={"period": "1h"}), 422,
                    "VALIDATION_ERROR")  # fmt: skip
    assert_envelope(await api.get("/metrics/history", params={"metric": "throughput"}), 422,
                    "VALIDATION_ERROR")  # fmt: skip


# -- restarts and replays -----------------------------------------------------------------


def _task_rows(data: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(data / "projections.db")) as db:
        return db.execute("SELECT * FROM metrics_minutes ORDER BY agent_id, minute").fetchall()


def _samples(data: Path) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(data / "metrics.db")) as db:
        return db.execute("SELECT * FROM host_samples ORDER BY ts_ms, rowid").fetchall()


def _bucket_of(seconds: float, step: int) -> str:
    start = int(seconds) // step * step
    return datetime.fromtimestamp(start, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def _history(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Each task metric's points that hold something, by time (a window that moved on
    between two calls loses only empty points from its start)."""
    found = {}
    for metric in TASK_METRICS:
        body = await get_json(api, "/metrics/history", period="1h", metric=metric)
        found[metric] = {p["timestamp"]: p["value"] for p in body["data_points"] if p["value"]}
    return found


async def test_history_survives_a_restart_and_a_replay_gives_the_same_points(tmp_path, eventually):
    config = one_slot_config(tmp_path)
    async with Node(config) as node, serving(node) as api:
        for _ in range(2):
            await wait_status(api, await submit_echo(api, delay=0.05), "completed")
        await settled_metrics(api, eventually, completed_tasks_1h=2)
        await eventually(lambda: node.sampler.samples >= 2, "two host samples")
        before = await _history(api)
    rows, samples = _task_rows(config.data.root), _samples(config.data.root)
    assert before["throughput"] and before["response_time"] and before["success_rate"]
    assert before["queue_depth"]  # each task was queued a moment before it started
    assert len(samples) >= 2

    async with Node(config) as node, serving(node) as api:
        assert await _history(api) == before
        assert _samples(config.data.root)[: len(samples)] == samples
        cpu = await get_json(api, "/metrics/history", period="1h", metric="cpu_usage")
        sampled_at = _bucket_of(samples[0][0] / 1000, 300)
        assert any(p["timestamp"] == sampled_at and p["value"] is not None
                   for p in cpu["data_points"])  # fmt: skip
        assert _task_rows(config.data.root) == rows

    replayed = run_cli("events", "replay", "--data-dir", str(config.data.root))
    assert replayed.returncode == 0, replayed.stderr
    assert "metrics" in replayed.stdout + replayed.stderr

    assert _task_rows(config.data.root) == rows
    async with Node(config) as node, serving(node) as api:
        assert await _history(api) == before
