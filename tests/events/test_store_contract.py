"""What every EventStore promises, as one abstract test case run against each backend.

A backend's test class subclasses EventStoreContract and AuditReadsContract
(test_store_audit_contract.py) and says how to open and close its store; the contract's
tests then run against it unchanged (SQLite today, JetStream later).
"""

from __future__ import annotations

import asyncio
import itertools
from pathlib import Path

import pytest

from events.envelope import EventData, EventRegistry, Meta
from events.errors import ConcurrencyError, StoreClosedError, UnknownEventType
from events.store import ANY_VERSION, NO_STREAM, AppendResult, EventStore, SQLiteEventStore
from events.types import TaskCompleted, TaskCreated, TaskProgressed, TaskStarted

from .support import StoreUnderTest, close_store
from .test_store_audit_contract import AuditReadsContract


def created(task_id: str) -> TaskCreated:
    return TaskCreated(task_id=task_id, task_type="echo", parameters={"text": task_id})


def started(task_id: str) -> TaskStarted:
    return TaskStarted(task_id=task_id, agent_id="agent-1")


class NotAnEvent(EventData, frozen=True, kw_only=True):
    """An EventData without a type_name: never registered, never appendable."""

    value: int = 0


class EventStoreContract(StoreUnderTest):
    # -- append -----------------------------------------------------------------------

    async def test_append_returns_the_streams_new_version_and_the_positions_it_took(
        self, store: EventStore
    ) -> None:
        result = await store.append("task-a", NO_STREAM, [created("a"), started("a")])

        assert isinstance(result, AppendResult)
        assert (result.stream, result.version) == ("task-a", 2)
        assert (result.first_position, result.last_position) == (1, 2)
        assert [(e.stream, e.version, e.position) for e in result.events] == [
            ("task-a", 1, 1),
            ("task-a", 2, 2),
        ]
        assert [e.type for e in result.events] == ["task.created", "task.started"]
        assert [e.data for e in result.events] == [created("a"), started("a")]

    async def test_appended_events_carry_distinct_sha256_hex_hashes(
        self, store: EventStore
    ) -> None:
        result = await store.append("task-a", NO_STREAM, [created("a"), started("a")])
        hashes = [e.hash for e in result.events]
        assert all(len(h) == 64 and int(h, 16) >= 0 for h in hashes)
        assert len(set(hashes)) == 2

    async def test_appends_to_different_streams_share_one_position_sequence(
        self, store: EventStore
    ) -> None:
        a = await store.append("task-a", NO_STREAM, [created("a")])
        b = await store.append("task-b", NO_STREAM, [created("b"), started("b")])
        c = await store.append("task-a", 1, [started("a")])

        assert [(r.first_position, r.last_position) for r in (a, b, c)] == [(1, 1), (2, 3), (4, 4)]
        assert [r.version for r in (a, b, c)] == [1, 2, 2]

    async def test_head_is_zero_on_an_empty_log_then_the_last_position(
        self, store: EventStore
    ) -> None:
        assert store.head == 0
        await store.append("task-a", NO_STREAM, [created("a"), started("a")])
        assert store.head == 2
        await store.append("task-b", NO_STREAM, [created("b")])
        assert store.head == 3

    async def test_append_with_stale_expected_version_raises_concurrency_error(
        self, store: EventStore
    ) -> None:
        await store.append("task-a", NO_STREAM, [created("a"), started("a")])

        with pytest.raises(ConcurrencyError) as caught:
            await store.append("task-a", 1, [started("a")])

        assert (caught.value.stream, caught.value.expected, caught.value.actual) == ("task-a", 1, 2)
        assert store.head == 2
        assert len(await store.read_stream("task-a")) == 2

    async def test_append_expecting_a_version_the_stream_has_not_reached_raises(
        self, store: EventStore
    ) -> None:
        await store.append("task-a", NO_STREAM, [created("a")])
        with pytest.raises(ConcurrencyError) as caught:
            await store.append("task-a", 5, [started("a")])
        assert (caught.value.expected, caught.value.actual) == (5, 1)

    async def test_append_expecting_a_version_of_a_missing_stream_raises(
        self, store: EventStore
    ) -> None:
        with pytest.raises(ConcurrencyError) as caught:
            await store.append("task-nowhere", 1, [started("x")])
        assert (caught.value.stream, caught.value.expected, caught.value.actual) == (
            "task-nowhere",
            1,
            0,
        )

    async def test_append_with_no_stream_to_an_existing_stream_raises_concurrency_error(
        self, store: EventStore
    ) -> None:
        await store.append("task-a", NO_STREAM, [created("a")])

        with pytest.raises(ConcurrencyError) as caught:
            await store.append("task-a", NO_STREAM, [created("a")])

        assert (caught.value.stream, caught.value.expected, caught.value.actual) == (
            "task-a",
            NO_STREAM,
            1,
        )
        assert store.head == 1

    async def test_append_with_any_version_skips_the_check(self, store: EventStore) -> None:
        await store.append("task-a", ANY_VERSION, [created("a")])
        result = await store.append("task-a", ANY_VERSION, [started("a")])
        assert result.version == 2

    async def test_of_concurrent_appends_expecting_one_version_exactly_one_wins(
        self, store: EventStore
    ) -> None:
        await store.append("task-a", NO_STREAM, [created("a")])

        outcomes = await asyncio.gather(
            *[
                store.append("task-a", 1, [TaskProgressed(task_id="a", agent_id="x", progress=n)])
                for n in range(10)
            ],
            return_exceptions=True,
        )

        won = [o for o in outcomes if isinstance(o, AppendResult)]
        lost = [o for o in outcomes if isinstance(o, ConcurrencyError)]
        assert (len(won), len(lost)) == (1, 9)
        assert all((e.expected, e.actual) == (1, 2) for e in lost)
        assert [e.version for e in await store.read_stream("task-a")] == [1, 2]

    async def test_append_of_no_events_raises_value_error(self, store: EventStore) -> None:
        with pytest.raises(ValueError, match="at least one"):
            await store.append("task-a", NO_STREAM, [])
        assert store.head == 0

    async def test_append_of_data_without_a_type_name_raises_type_error(
        self, store: EventStore
    ) -> None:
        with pytest.raises(TypeError, match="NotAnEvent"):
            await store.append("task-a", NO_STREAM, [NotAnEvent()])
        assert store.head == 0

    async def test_append_with_expected_version_below_any_version_raises_value_error(
        self, store: EventStore
    ) -> None:
        with pytest.raises(ValueError, match="expected_version"):
            await store.append("task-a", -2, [created("a")])

    # -- read -------------------------------------------------------------------------

    async def test_read_all_returns_what_append_returned(self, store: EventStore) -> None:
        first = await store.append("task-a", NO_STREAM, [created("a")])
        second = await store.append("task-b", NO_STREAM, [created("b"), started("b")])

        assert await store.read_all() == first.events + second.events

    async def test_read_all_from_position_with_limit_returns_that_window(
        self, store: EventStore
    ) -> None:
        for n in range(10):
            await store.append(f"task-{n}", NO_STREAM, [created(str(n))])

        window = await store.read_all(from_position=4, limit=3)

        assert [e.position for e in window] == [4, 5, 6]
        assert [e.stream for e in window] == ["task-3", "task-4", "task-5"]
        assert [e.position for e in await store.read_all(9, 100)] == [9, 10]
        assert await store.read_all(11) == []

    async def test_read_stream_returns_only_that_stream_in_version_order(
        self, store: EventStore
    ) -> None:
        await store.append("task-a", NO_STREAM, [created("a")])
        await store.append("task-b", NO_STREAM, [created("b")])
        await store.append("task-a", 1, [started("a")])
        await store.append("task-b", 1, [started("b")])
        await store.append("task-a", 2, [TaskCompleted(task_id="a", agent_id="x", result={})])

        events = await store.read_stream("task-a")

        assert [(e.version, e.position, e.type) for e in events] == [
            (1, 1, "task.created"),
            (2, 3, "task.started"),
            (3, 5, "task.completed"),
        ]
        assert {e.stream for e in events} == {"task-a"}

    async def test_read_stream_from_version_skips_the_earlier_versions(
        self, store: EventStore
    ) -> None:
        await store.append("task-a", NO_STREAM, [created("a"), started("a")])
        await store.append("task-a", 2, [TaskCompleted(task_id="a", agent_id="x", result={})])

        assert [e.version for e in await store.read_stream("task-a", from_version=2)] == [2, 3]

    async def test_read_stream_of_a_stream_never_written_is_empty(self, store: EventStore) -> None:
        await store.append("task-a", NO_STREAM, [created("a")])
        assert await store.read_stream("task-zzz") == []

    async def test_meta_round_trips_through_the_log(self, store: EventStore) -> None:
        meta = Meta(
            correlation_id="corr-1",
            causation_id="cause-1",
            actor="user:42",
            api_key_id="key-9",
            request_id="req-3",
            trace={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b716920-01"},
        )
        await store.append("task-a", NO_STREAM, [created("a"), started("a")], meta)
        await store.append("task-b", NO_STREAM, [created("b")])

        a1, a2, b1 = await store.read_all()

        assert a1.meta == a2.meta == meta
        assert b1.meta == Meta()

    async def test_event_data_round_trips_with_nested_values(self, store: EventStore) -> None:
        data = TaskCreated(
            task_id="a",
            task_type="nested",
            priority="critical",
            max_attempts=5,
            parameters={
                "list": [1, 2.5, None, "x"],
                "obj": {"deep": {"true": True}},
                "unicode": "zażółć ✓",
                "big": 2**53 + 1,
            },
            callback_url="https://example.test/cb",
            assigned_agents=["a1", "a2"],
        )
        await store.append("task-a", NO_STREAM, [data])

        [event] = await store.read_all()
        [by_stream] = await store.read_stream("task-a")

        assert event.data == by_stream.data == data

    async def test_event_ids_are_unique_and_sort_in_position_order(self, store: EventStore) -> None:
        for n in range(20):
            await store.append(f"task-{n % 3}", ANY_VERSION, [started(str(n))] * (n % 3 + 1))

        ids = [e.event_id for e in await store.read_all()]

        assert len(set(ids)) == len(ids) == store.head
        assert all(a < b for a, b in itertools.pairwise(ids))

    async def test_timestamps_never_go_backwards_along_the_log(self, store: EventStore) -> None:
        for n in range(20):
            await store.append(f"task-{n}", NO_STREAM, [created(str(n))])
        stamps = [e.ts for e in await store.read_all()]
        assert stamps == sorted(stamps)
        assert all(ts.utcoffset() is not None for ts in stamps)

    async def test_reading_an_event_type_the_registry_does_not_know_raises_unknown_event_type(
        self, tmp_path: Path
    ) -> None:
        store = await self.open_store(tmp_path, EventRegistry())
        try:
            await store.append("task-a", NO_STREAM, [created("a")])

            with pytest.raises(UnknownEventType) as caught:
                await store.read_all()
            assert caught.value.type_name == "task.created"
            with pytest.raises(UnknownEventType):
                await store.read_stream("task-a")
        finally:
            await self.close_store(store)

    # -- lifecycle --------------------------------------------------------------------

    async def test_append_after_close_raises_store_closed_error(self, store: EventStore) -> None:
        await store.append("task-a", NO_STREAM, [created("a")])
        await store.close()
        with pytest.raises(StoreClosedError):
            await store.append("task-a", 1, [started("a")])

    async def test_read_after_close_raises_store_closed_error(self, store: EventStore) -> None:
        await store.close()
        with pytest.raises(StoreClosedError):
            await store.read_all()

    async def test_close_twice_is_harmless(self, store: EventStore) -> None:
        await store.close()
        await store.close()

    async def test_close_commits_appends_already_queued(self, store: EventStore) -> None:
        appends = [
            asyncio.create_task(store.append(f"task-{n}", NO_STREAM, [created(str(n))]))
            for n in range(50)
        ]
        await asyncio.sleep(0)  # every append has queued its events
        await store.close()

        results = await asyncio.gather(*appends)

        assert sorted(r.first_position for r in results) == list(range(1, 51))


class TestSQLiteEventStore(EventStoreContract, AuditReadsContract):
    async def open_store(self, tmp_path: Path, event_registry: EventRegistry) -> EventStore:
        return await SQLiteEventStore.open(tmp_path / "contract.db", event_registry)

    async def close_store(self, store: EventStore) -> None:
        assert isinstance(store, SQLiteEventStore)
        await close_store(store)
