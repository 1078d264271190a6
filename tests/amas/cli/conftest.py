"""Fixtures for the `amas` commands' tests.

data_dir        tmp_path / "data", a data folder for the `amas` commands
written         the events of LOG_TASKS task lifecycles written to data_dir's log
                (verified, the store closed again)
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from events.envelope import Event
from events.store import SQLiteEventStore
from events.verify import verify_log
from tests.events.support import LOG_TASKS, WAIT, append_task_mix, close_store


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def written(data_dir: Path) -> list[Event]:
    return asyncio.run(asyncio.wait_for(_fill(data_dir / "events.db"), WAIT * 4))


async def _fill(events_db: Path) -> list[Event]:
    store = await SQLiteEventStore.open(events_db)
    try:
        head = await append_task_mix(store, tasks=LOG_TASKS)
        assert (await verify_log(store)).ok
        return await store.read_all(1, head)
    finally:
        await close_store(store)
