"""Fixtures for the event log's tests: real SQLite files in tmp_path, nothing mocked.

    events_db       tmp_path / "events.db"
    open_store      `await open_store(path=events_db, event_registry=registry)`; every store
                    it opens is closed after the test (also the ones a test reopens)
    store           a SQLiteEventStore on events_db
    projections_db  tmp_path / "projections.db"
    runner          a ProjectionRunner with TasksProjection on projections_db, not started

Modules import the `events` sub-modules, never the `events` package itself: this folder
is a package called `events` too (tests/ has no __init__.py), so under pytest's default
import mode `import events` can give this folder rather than the event log.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from events.envelope import EventRegistry, registry
from events.projections import ProjectionRunner, TasksProjection
from events.store import SQLiteEventStore

from .support import WAIT, OpenStore, close_store


@pytest.fixture
def events_db(tmp_path: Path) -> Path:
    return tmp_path / "events.db"


@pytest.fixture
async def open_store(events_db: Path) -> AsyncIterator[OpenStore]:
    opened: list[SQLiteEventStore] = []

    async def open_(
        path: Path = events_db, event_registry: EventRegistry = registry
    ) -> SQLiteEventStore:
        store = await SQLiteEventStore.open(path, event_registry)
        opened.append(store)
        return store

    yield open_
    failures: list[BaseException] = []
    for store in reversed(opened):
        try:
            await close_store(store)
        except BaseException as e:
            failures.append(e)
    if failures:
        raise failures[0]


@pytest.fixture
async def store(open_store: OpenStore) -> SQLiteEventStore:
    return await open_store()


@pytest.fixture
def projections_db(tmp_path: Path) -> Path:
    return tmp_path / "projections.db"


@pytest.fixture
async def runner(store: SQLiteEventStore, projections_db: Path) -> AsyncIterator[ProjectionRunner]:
    runner = await ProjectionRunner.open(store, projections_db, [TasksProjection()])
    try:
        yield runner
    finally:
        async with asyncio.timeout(WAIT):
            await runner.close()
