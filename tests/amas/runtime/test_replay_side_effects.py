"""Replaying the log rebuilds the read models and does nothing else: no task runs again,
no event is published again, nothing new is written (design.md, Events)."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import nats

from amas.runtime.node import Node, NodeConfig
from amas.runtime.relay import STREAM
from tests.conftest import serving
from tests.served import run_cli


def _rows(path: Any, table: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()


async def _stream_counts(url: str) -> dict[str, int]:
    nc = await nats.connect(url)
    try:
        info = await nc.jetstream().stream_info(STREAM, subjects_filter="task.>")
        return dict(info.state.subjects or {})
    finally:
        await nc.close()


async def test_replay_and_restart_repeat_no_side_effect(
    node_config: NodeConfig, eventually: Any
) -> None:
    async with Node(node_config) as node, serving(node) as api:
        ids = []
        for i in range(10):
            response = await api.post("/tasks", json={"task_type": "echo", "parameters": {"i": i}})
            assert response.status_code == 201, response.text
            ids.append(response.json()["task_id"])
        for task_id in ids:

            async def completed(task_id: str = task_id) -> bool:
                return bool((await api.get(f"/tasks/{task_id}")).json()["status"] == "completed")

            await eventually(completed, f"{task_id} completes")
        log_before = [(e.position, e.type) for e in await node.store.read_all(1, 100_000)]
        await asyncio.sleep(0.5)  # the relay's acknowledgements are in
        stream_before = await _stream_counts(node.nats_url)
    paths = node_config.data
    tasks_before = _rows(paths.projections_db, "tasks")
    assert stream_before.get("task.completed") == 10

    replayed = run_cli("events", "replay", "--data-dir", str(paths.root))
    assert replayed.returncode == 0, replayed.stderr
    assert _rows(paths.projections_db, "tasks") == tasks_before

    async with Node(node_config) as node:
        heard: list[str] = []
        nc = await nats.connect(node.nats_url)
        try:

            async def hear(msg: Any) -> None:
                heard.append(msg.subject)

            await nc.subscribe("task.*", cb=hear)
            await nc.flush()
            await asyncio.sleep(1.0)  # long enough for a relay or an agent to act
            log_after = [(e.position, e.type) for e in await node.store.read_all(1, 100_000)]
            stream_after = await _stream_counts(node.nats_url)
            sent = node.relay.sent
        finally:
            await nc.close()

    new = [t for _, t in log_after[len(log_before) :]]
    assert log_after[: len(log_before)] == log_before
    assert all(t == "agent.started" for t in new), new  # only the agents coming up
    assert heard == []  # nothing published again
    assert sent == len(new)  # not even before we listened
    assert stream_after == stream_before  # nothing stored again
    assert _rows(paths.projections_db, "tasks") == tasks_before  # no task ran again


async def test_a_replay_rebuilds_scan_results_without_scanning_again(
    node_config: NodeConfig, eventually: Any
) -> None:
    knocks: list[int] = []

    async def count(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        knocks.append(1)
        writer.close()

    listener = await asyncio.start_server(count, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    try:
        async with Node(node_config) as node, serving(node) as api:
            response = await api.post(
                "/tasks",
                json={
                    "task_type": "vulnerability_scanning",
                    "parameters": {"target": "127.0.0.1", "ports": [port]},
                },
            )
            task_id = response.json()["task_id"]

            async def completed() -> bool:
                return bool((await api.get(f"/tasks/{task_id}")).json()["status"] == "completed")

            await eventually(completed, "the scan completes", timeout=10)
            results = (await api.get(f"/tasks/{task_id}/results")).json()["results"]
        scanned = len(knocks)
        assert scanned >= 1 and [p["port"] for p in results["open_ports"]] == [port]

        replayed = run_cli("events", "replay", "--data-dir", str(node_config.data.root))
        assert replayed.returncode == 0, replayed.stderr
        async with Node(node_config) as node, serving(node) as api:
            await asyncio.sleep(1.0)  # long enough for an agent to act, if it were to
            again = (await api.get(f"/tasks/{task_id}/results")).json()["results"]
        assert again == results  # rebuilt from the log
        assert len(knocks) == scanned  # and not a packet more
    finally:
        listener.close()
        await listener.wait_closed()
