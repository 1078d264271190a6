"""The store contract's audit reads: stored rows, envelopes, the position as stored, and
the replay a rebuild folds. A backend's test class subclasses AuditReadsContract next to
EventStoreContract; `TestContractReplay` also runs it against the contract's own
(unoptimised) `replay`, which a new backend inherits."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest

from events.clock import micros
from events.envelope import Event, EventRegistry, registry
from events.store import NO_STREAM, STORED_FIELDS, EventStore, LogFilter, SQLiteEventStore
from events.store.chain import GENESIS, canonical_bytes
from events.store.schema import DDL
from events.types import TaskCompleted, TaskCreated, TaskStarted
from events.verify import verify_log

from .support import StoreUnderTest, close_store


async def _write_log(store: EventStore, tasks: int = 6) -> list[Event]:
    """Per task: created, started, and (for even tasks) completed; streams task-<n>."""
    for n in range(tasks):
        events: list[Any] = [
            TaskCreated(task_id=str(n), task_type="echo", parameters={"n": n}),
            TaskStarted(task_id=str(n), agent_id="agent-1"),
        ]
        if n % 2 == 0:
            events.append(TaskCompleted(task_id=str(n), agent_id="agent-1", result={"n": n}))
        await store.append(f"task-{n}", NO_STREAM, events)
    return await store.read_all()


def _as_json(event: Event) -> Any:
    return msgspec.json.decode(msgspec.json.encode(event))


def _fields(event: Event) -> tuple[Any, ...]:
    """An event's fields: a replayed event may be an Event subclass, not re-encodable."""
    return tuple(getattr(event, name) for name in Event.__struct_fields__)


async def _envelopes(store: EventStore, where: LogFilter | None = None, **kw: int) -> list[Any]:
    found = await store.read_envelopes(
        kw.get("from_position", 1), kw.get("to_position", 1_000), where, kw.get("limit", 1_000)
    )
    assert [position for position, _ in found] == sorted(position for position, _ in found)
    return [msgspec.json.decode(envelope) for _, envelope in found]


class AuditReadsContract(StoreUnderTest):
    # -- last_position ----------------------------------------------------------------

    async def test_last_position_is_zero_on_an_empty_log_then_the_head(
        self, store: EventStore
    ) -> None:
        assert await store.last_position() == 0
        events = await _write_log(store)
        assert await store.last_position() == store.head == events[-1].position

    # -- read_rows --------------------------------------------------------------------

    async def test_read_rows_are_the_stored_fields_of_each_event_in_order(
        self, store: EventStore
    ) -> None:
        events = await _write_log(store)

        rows = await store.read_rows()

        assert len(rows) == len(events)
        for row, event in zip(rows, events, strict=True):
            stored = dict(zip(STORED_FIELDS, row, strict=True))
            assert stored["ts"] == micros(event.ts)
            assert msgspec.json.decode(stored["data"]) == _as_json(event)["data"]
            assert msgspec.json.decode(stored["meta"]) == _as_json(event)["meta"]
            assert {k: v for k, v in stored.items() if k not in ("ts", "data", "meta")} == {
                k: getattr(event, k) for k in STORED_FIELDS if k not in ("ts", "data", "meta")
            }

    async def test_read_rows_carry_the_hash_chain_verify_checks(self, store: EventStore) -> None:
        events = await _write_log(store)
        previous = GENESIS
        for row in await store.read_rows():
            previous = hashlib.sha256(previous + canonical_bytes(*row[:-1])).digest()
            assert previous.hex() == row[-1]

        result = await verify_log(store)

        assert (result.ok, result.checked, result.head) == (True, len(events), len(events))

    async def test_read_rows_from_position_with_limit_returns_that_window(
        self, store: EventStore
    ) -> None:
        await _write_log(store)
        assert [row[0] for row in await store.read_rows(4, 3)] == [4, 5, 6]
        assert await store.read_rows(1_000, 10) == []

    # -- read_envelopes ---------------------------------------------------------------

    async def test_an_envelope_is_the_event_as_the_relay_publishes_it(
        self, store: EventStore
    ) -> None:
        events = await _write_log(store)

        envelopes = await _envelopes(store)

        assert set(envelopes[0]) == set(Event.__struct_fields__)
        assert envelopes == [_as_json(event) for event in events]

    async def test_envelopes_of_a_type_the_registry_does_not_know_read_as_stored(
        self, tmp_path: Path
    ) -> None:
        store = await self.open_store(tmp_path, registry)
        await _write_log(store, 2)
        await self.close_store(store)
        store = await self.open_store(tmp_path, EventRegistry())
        try:
            envelopes = await _envelopes(store)
            assert [e["data"]["task_id"] for e in envelopes] == ["0", "0", "0", "1", "1"]
        finally:
            await self.close_store(store)

    async def test_envelopes_keep_to_the_position_range_and_the_limit(
        self, store: EventStore
    ) -> None:
        await _write_log(store)
        assert [e["position"] for e in await _envelopes(store, from_position=3, to_position=7)] == [
            3,
            4,
            5,
            6,
        ]
        assert [e["position"] for e in await _envelopes(store, from_position=3, limit=2)] == [3, 4]

    @pytest.mark.parametrize(
        ("where", "expected"),
        [
            (LogFilter(stream="task-1"), [("task-1", 1), ("task-1", 2)]),
            (LogFilter(stream="task-"), []),
            (LogFilter(stream="task-1*"), [("task-1", 1), ("task-1", 2)]),
            (LogFilter(types=("task.completed",)), [("task-0", 3), ("task-2", 3), ("task-4", 3)]),
            (
                LogFilter(stream="task-2", types=("task.c*",)),
                [("task-2", 1), ("task-2", 3)],
            ),
            (LogFilter(stream="task_1*"), []),  # '_' is literal, not a wildcard
        ],
    )
    async def test_envelopes_match_streams_and_types_exactly_or_by_prefix(
        self, store: EventStore, where: LogFilter, expected: list[tuple[str, int]]
    ) -> None:
        await _write_log(store)
        assert [(e["stream"], e["version"]) for e in await _envelopes(store, where)] == expected

    async def test_envelopes_between_commit_times_are_inclusive(self, store: EventStore) -> None:
        events = await _write_log(store)
        since, until = micros(events[3].ts), micros(events[8].ts)
        expected = [e.position for e in events if since <= micros(e.ts) <= until]

        found = await _envelopes(store, LogFilter(since_ts=since, until_ts=until))

        assert [e["position"] for e in found] == expected
        assert expected[0] <= 4 and expected[-1] >= 9

    # -- replay -----------------------------------------------------------------------

    async def test_replay_yields_the_whole_log_in_batches(self, store: EventStore) -> None:
        events = await _write_log(store)

        batches = [(last, batch) async for last, batch in store.replay(batch=4)]

        assert [last for last, _ in batches] == [4, 8, 12, 15]
        assert [_fields(e) for _, b in batches for e in b] == [_fields(e) for e in events]

    async def test_replay_of_some_types_still_covers_every_position(
        self, store: EventStore
    ) -> None:
        events = await _write_log(store)

        batches = [(last, b) async for last, b in store.replay(types={"task.completed"}, batch=5)]

        assert [last for last, _ in batches] == [5, 10, 15]
        replayed = [e for _, b in batches for e in b]
        assert [e.position for e in replayed] == [
            e.position for e in events if e.type == "task.completed"
        ]
        assert all(isinstance(e.data, TaskCompleted) for e in replayed)

    async def test_replay_from_a_position_until_another(self, store: EventStore) -> None:
        await _write_log(store)

        batches = [(last, b) async for last, b in store.replay(5, until=11, batch=4)]

        assert [last for last, _ in batches] == [8, 11]
        assert [e.position for _, b in batches for e in b] == list(range(5, 12))

    async def test_replay_of_an_empty_log_yields_nothing(self, store: EventStore) -> None:
        assert [batch async for batch in store.replay()] == []


def test_the_stored_fields_are_the_envelopes_and_the_tables_columns() -> None:
    assert sorted(STORED_FIELDS) == sorted(Event.__struct_fields__)
    db = sqlite3.connect(":memory:")
    db.executescript(DDL)
    columns = [row[1] for row in db.execute("PRAGMA table_info(events)")]
    db.close()
    assert columns == list(STORED_FIELDS)


class _ContractReplayStore(SQLiteEventStore):
    """The SQLite store reading through the contract's default `replay`."""

    replay = EventStore.replay  # type: ignore[assignment]


class TestContractReplay(AuditReadsContract):
    async def open_store(self, tmp_path: Path, event_registry: EventRegistry) -> EventStore:
        return await _ContractReplayStore.open(tmp_path / "contract.db", event_registry)

    async def close_store(self, store: EventStore) -> None:
        assert isinstance(store, SQLiteEventStore)
        await close_store(store)
