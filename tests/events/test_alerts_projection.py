"""The `alerts` read model: one row per (code, subject), active until a cleared alert of
the same code and subject; old recoveries under a code of their own still clear."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite

from events.envelope import Meta
from events.projections import AlertsProjection, ProjectionRunner
from events.queries.alerts import active_alerts
from events.store import ANY_VERSION, SQLiteEventStore
from events.types import SystemAlerted

from .support import WAIT


async def _alert(store: SQLiteEventStore, **fields: object) -> int:
    result = await store.append(
        "system", ANY_VERSION, [SystemAlerted(**fields)], Meta(actor="alerts")
    )
    return result.last_position


async def _active(store: SQLiteEventStore, projections_db: Path) -> list[tuple[str, str, str]]:
    runner = await ProjectionRunner.open(store, projections_db, [AlertsProjection()])
    try:
        runner.start()
        await runner.wait_for(store.head, WAIT)
        async with aiosqlite.connect(projections_db) as db:
            return [(a.code, a.subject, a.level) for a in await active_alerts(db)]
    finally:
        async with asyncio.timeout(WAIT):
            await runner.close()


async def test_an_alert_is_active_until_it_is_cleared_for_its_subject(
    store: SQLiteEventStore, projections_db: Path
) -> None:
    await _alert(store, level="warning", code="PROVIDER_CIRCUIT_OPEN", message="m", subject="a")
    await _alert(store, level="warning", code="PROVIDER_CIRCUIT_OPEN", message="m", subject="b")
    await _alert(
        store, level="info", code="PROVIDER_CIRCUIT_OPEN", message="m", subject="a", cleared=True
    )

    assert await _active(store, projections_db) == [("PROVIDER_CIRCUIT_OPEN", "b", "warning")]


async def test_an_alert_raised_again_after_clearing_is_active_again(
    store: SQLiteEventStore, projections_db: Path
) -> None:
    await _alert(store, level="warning", code="DISK_LOW", message="low")
    await _alert(store, level="info", code="DISK_LOW", message="ok", cleared=True)
    await _alert(store, level="warning", code="DISK_LOW", message="low again")

    assert await _active(store, projections_db) == [("DISK_LOW", "", "warning")]


async def test_a_nats_recovered_alert_clears_nats_down(
    store: SQLiteEventStore, projections_db: Path
) -> None:
    await _alert(store, level="error", code="NATS_DOWN", message="down")
    await _alert(store, level="info", code="NATS_RECOVERED", message="back")

    assert await _active(store, projections_db) == []
