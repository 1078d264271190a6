"""Alerts across a restart and a replay, and the hash-chain check: a restarted node
repeats no active alert (also when its monitor's checkpoint fell behind, as after a
crash) and still writes the recoveries that came due while it was down; a replay writes
nothing; a tampered log is LOG_VERIFY_FAILED until its bytes are back."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import msgspec

from actors.agents.catalog import default_agents
from actors.alerts.facts import AlertSettings
from amas.runtime.node import Node, NodeConfig
from events.envelope import Meta
from events.store import ANY_VERSION, SQLiteEventStore
from events.types import AgentErrored, SystemAlerted
from tests.conftest import fresh_config, serving
from tests.served import run_cli

AGENT = "osint-agent"
POLL = 0.05
LOW = AlertSettings(disk_free_mb=1 << 40, poll_every=POLL, verify_every=0)  # 1 EiB: too little


def config(root: Path, settings: AlertSettings) -> NodeConfig:
    config = fresh_config(root)
    [spec] = [s for s in default_agents() if s.agent_id == AGENT]
    config.agents = [spec]
    config.alerts = settings
    return config


async def alert_log(node: Node) -> list[tuple[str, str, bool]]:
    events = await node.store.read_stream("system")
    return [(e.data.code, e.data.subject, e.data.cleared) for e in events]


async def test_a_restart_repeats_no_active_alert_and_still_writes_its_recovery(
    tmp_path: Path, eventually: Callable[..., Awaitable[None]]
) -> None:
    disk_low, failing = ("DISK_LOW", "", False), ("AGENT_FAILING", AGENT, False)
    node_config = config(tmp_path, LOW)
    async with Node(node_config) as node:
        await eventually(lambda: _alerts_are(node, [disk_low]), "DISK_LOW is raised")
    paths = node_config.data
    # Committed after the monitor's checkpoint, as when a node dies before its monitor
    # has seen them.
    before_errors = await _append_offline(
        paths.events_db,
        [AgentErrored(agent_id=AGENT, agent_type="osint", error=f"crash {n}") for n in range(3)],
    )
    log_before = _log(paths.events_db)
    alerts_before = _alert_rows(paths.projections_db)

    replayed = run_cli("events", "replay", "--data-dir", str(paths.root))
    assert replayed.returncode == 0, replayed.stderr
    assert _log(paths.events_db) == log_before  # a replay writes no alert
    assert _alert_rows(paths.projections_db) == alerts_before

    async with Node(node_config) as node:
        assert await alert_log(node) == [disk_low, failing]  # caught up at start
        await asyncio.sleep(5 * POLL)  # a few looks at the disk and the agent
        assert await alert_log(node) == [disk_low, failing]
    # As after a crash: the monitor's checkpoint is back before the agent's errors, so it
    # folds them again at start.
    with contextlib.closing(sqlite3.connect(paths.alerts_db)) as db, db:
        db.execute("UPDATE checkpoint SET position = ?", (before_errors,))

    node_config.alerts = dataclasses.replace(LOW, disk_free_mb=1)
    async with Node(node_config) as node, serving(node) as api:
        # The disk has room again: its recovery is written at start; the agent's alert
        # is not written again.
        assert await alert_log(node) == [disk_low, failing, ("DISK_LOW", "", True)]
        await _run_a_task(api)

        async def agent_cleared() -> bool:
            return (await alert_log(node))[3:] == [("AGENT_FAILING", AGENT, True)]

        await eventually(agent_cleared, "AGENT_FAILING is cleared by the agent's next task")


async def _alerts_are(node: Node, expected: list[tuple[str, str, bool]]) -> bool:
    return await alert_log(node) == expected


async def _append_offline(events_db: Path, events: list[AgentErrored]) -> int:
    """Append `events` to a stopped node's log; the position before them."""
    store = await SQLiteEventStore.open(events_db)
    try:
        head = store.head
        await store.append(f"agent-{AGENT}", ANY_VERSION, events, Meta(actor="supervisor"))
        return head
    finally:
        await store.close()


async def _run_a_task(api: httpx.AsyncClient) -> None:
    response = await api.post("/tasks", json={"task_type": "echo"})
    assert response.status_code == 201, response.text


def _log(events_db: Path) -> list[tuple[int, str]]:
    with contextlib.closing(sqlite3.connect(f"file:{events_db}?mode=ro", uri=True)) as db:
        return db.execute("SELECT position, hash FROM events ORDER BY position").fetchall()


def _alert_rows(projections_db: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(f"file:{projections_db}?mode=ro", uri=True)) as db:
        return db.execute("SELECT * FROM alerts ORDER BY alert_id").fetchall()


async def test_a_tampered_log_raises_log_verify_failed_until_its_bytes_are_back(
    tmp_path: Path, eventually: Callable[..., Awaitable[None]]
) -> None:
    settings = AlertSettings(
        disk_free_mb=0, poll_every=POLL, verify_every=0.05, verify_full_every=0.2
    )
    async with Node(config(tmp_path, settings)) as node:
        written = await node.store.append(
            "agent-x", ANY_VERSION, [AgentErrored(agent_id="x", agent_type="osint", error="boom")]
        )
        position = written.last_position
        await eventually(
            lambda: (verified := node.alerts.state.verify) and verified.head >= position,
            "the monitor has checked the chain past the event",
        )
        original = _data(node.store.path, position)
        _set_data(node.store.path, position, original.replace(b"boom", b"doom"))

        async def failed() -> bool:
            return [a.cleared for a in await _chain_alerts(node)] == [False]

        await eventually(failed, "LOG_VERIFY_FAILED is raised")
        [broken] = await _chain_alerts(node)
        assert broken.level == "critical"
        assert broken.details["first_bad_position"] == position
        assert "hash" in broken.details["reason"]

        _set_data(node.store.path, position, original)

        async def cleared() -> bool:
            return [a.cleared for a in await _chain_alerts(node)] == [False, True]

        await eventually(cleared, "LOG_VERIFY_FAILED is cleared once a check passes")


async def _chain_alerts(node: Node) -> list[SystemAlerted]:
    events = await node.store.read_stream("system")
    return [e.data for e in events if e.data.code == "LOG_VERIFY_FAILED"]


def _data(events_db: Path, position: int) -> bytes:
    with contextlib.closing(sqlite3.connect(events_db)) as db:
        [(data,)] = db.execute("SELECT data FROM events WHERE position = ?", (position,))
    assert msgspec.json.decode(data)["error"] == "boom"
    return bytes(data)


def _set_data(events_db: Path, position: int, data: bytes) -> None:
    """What a tamperer with file access would do (the log's triggers refuse an UPDATE)."""
    with contextlib.closing(sqlite3.connect(events_db, isolation_level=None)) as db:
        db.execute("DROP TRIGGER IF EXISTS events_refuse_update")
        db.execute("UPDATE events SET data = ? WHERE position = ?", (data, position))
