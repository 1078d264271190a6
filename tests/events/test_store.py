"""SQLiteEventStore: group commit under concurrency, subscriptions, durability across a
reopen, and the database refusing to change what was written."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from events.envelope import Event
from events.errors import ConcurrencyError, StoreWriteError
from events.store import ANY_VERSION, NO_STREAM, AppendResult, SQLiteEventStore
from events.types import TaskCreated, TaskProgressed
from events.verify import verify_log

from .support import WAIT, OpenStore, append_task_mix, execute, query


def created(task_id: str) -> TaskCreated:
    return TaskCreated(task_id=task_id, task_type="echo", parameters={"n": task_id})


def progressed(task_id: str, progress: int) -> TaskProgressed:
    return TaskProgressed(task_id=task_id, agent_id="agent-1", progress=progress)


async def append_each(store: SQLiteEventStore, count: int, prefix: str = "task") -> None:
    """`count` appends, each to a new stream, all in flight at once."""
    async with asyncio.timeout(WAIT):
        await asyncio.gather(
            *[
                store.append(f"{prefix}-{n}", NO_STREAM, [created(f"{prefix}{n}")])
                for n in range(count)
            ]
        )


async def take(subscription: AsyncIterator[Event], count: int) -> list[Event]:
    taken: list[Event] = []
    async for event in subscription:
        taken.append(event)
        if len(taken) == count:
            break
    return taken


# -- group commit under concurrency ---------------------------------------------------


async def test_thousand_concurrent_appenders_to_distinct_streams_all_land_without_gaps(
    store: SQLiteEventStore, events_db: Path
) -> None:
    async with asyncio.timeout(WAIT * 2):
        results = await asyncio.gather(
            *[store.append(f"task-{n}", NO_STREAM, [created(str(n))]) for n in range(1000)]
        )

    assert sorted(r.first_position for r in results) == list(range(1, 1001))
    assert all(r.first_position == r.last_position and r.version == 1 for r in results)
    assert store.head == 1000
    read = await store.read_all(1, 2000)
    assert [e.position for e in read] == list(range(1, 1001))
    assert {e.event_id for e in read} == {r.events[0].event_id for r in results}
    by_stream = {r.stream: r.first_position for r in results}
    assert all(by_stream[e.stream] == e.position for e in read)
    assert [
        p for (p,) in query(events_db, "SELECT position FROM events ORDER BY position")
    ] == list(range(1, 1001))
    assert query(
        events_db,
        "SELECT count(*), count(DISTINCT stream), count(DISTINCT event_id),"
        " min(position), max(position) FROM events",
    ) == [(1000, 1000, 1000, 1, 1000)]


async def test_concurrent_appends_to_one_stream_with_any_version_get_consecutive_versions(
    store: SQLiteEventStore,
) -> None:
    await store.append("task-a", NO_STREAM, [created("a")])

    async with asyncio.timeout(WAIT):
        results = await asyncio.gather(
            *[
                store.append("task-a", ANY_VERSION, [progressed("a", n % 100)] * (n % 3 + 1))
                for n in range(200)
            ]
        )

    versions = [e.version for r in results for e in r.events]
    assert sorted(versions) == list(range(2, len(versions) + 2))
    stream = await store.read_stream("task-a")
    assert [e.version for e in stream] == list(range(1, len(versions) + 2))
    assert [e.position for e in stream] == list(range(1, store.head + 1))


async def test_appends_of_many_events_each_keep_their_events_contiguous(
    store: SQLiteEventStore,
) -> None:
    async with asyncio.timeout(WAIT):
        results = await asyncio.gather(
            *[
                store.append(f"task-{n}", NO_STREAM, [progressed(str(n), p) for p in range(n + 1)])
                for n in range(60)
            ]
        )

    for result in results:
        assert [e.position for e in result.events] == list(
            range(result.first_position, result.last_position + 1)
        )
        assert [e.version for e in result.events] == list(range(1, len(result.events) + 1))
    assert store.head == sum(range(1, 61))


# -- the optimistic guess for new streams ---------------------------------------------


async def test_no_stream_append_to_a_stream_written_before_a_reopen_raises_concurrency_error(
    store: SQLiteEventStore, open_store: OpenStore
) -> None:
    # After a reopen the committer's version cache is empty: a NO_STREAM append is assumed
    # to start a new stream, and only the unique (stream, version) index can catch it.
    await store.append("task-a", NO_STREAM, [created("a"), progressed("a", 10)])
    await store.close()
    store = await open_store()

    with pytest.raises(ConcurrencyError) as caught:
        async with asyncio.timeout(WAIT):
            await store.append("task-a", NO_STREAM, [created("a")])

    assert (caught.value.stream, caught.value.expected, caught.value.actual) == (
        "task-a",
        NO_STREAM,
        2,
    )
    assert store.head == 2
    async with asyncio.timeout(WAIT):
        after = await store.append("task-b", NO_STREAM, [created("b")])
    assert after.first_position == 3


async def test_a_wrong_new_stream_guess_fails_only_its_own_append_in_a_group_commit(
    store: SQLiteEventStore, open_store: OpenStore
) -> None:
    await store.append("task-a", NO_STREAM, [created("a")])
    await store.close()
    store = await open_store()

    async with asyncio.timeout(WAIT):
        outcomes = await asyncio.gather(
            *[store.append(f"task-new-{n}", NO_STREAM, [created(str(n))]) for n in range(20)],
            store.append("task-a", NO_STREAM, [created("a")]),
            *[store.append(f"task-more-{n}", NO_STREAM, [created(str(n))]) for n in range(20)],
            return_exceptions=True,
        )

    assert isinstance(outcomes[20], ConcurrencyError)
    landed = [o for i, o in enumerate(outcomes) if i != 20]
    assert all(isinstance(o, AppendResult) for o in landed)
    assert store.head == 41
    assert [e.position for e in await store.read_all(1, 100)] == list(range(1, 42))


# -- durability -----------------------------------------------------------------------


async def test_reopened_store_reads_every_event_written_before_close(
    store: SQLiteEventStore, open_store: OpenStore
) -> None:
    head = await append_task_mix(store, tasks=15)
    before = await store.read_all(1, 1000)
    await store.close()

    reopened = await open_store()

    assert reopened.head == head
    assert await reopened.read_all(1, 1000) == before


async def test_reopened_store_continues_the_head_and_the_hash_chain(
    store: SQLiteEventStore, open_store: OpenStore
) -> None:
    head = await append_task_mix(store, tasks=15)
    await store.close()
    store = await open_store()

    async with asyncio.timeout(WAIT):
        result = await store.append("task-after", NO_STREAM, [created("after")])
        await store.append("task-after", 1, [progressed("after", 50)])

    assert result.first_position == head + 1
    assert store.head == head + 2
    verified = await verify_log(store)
    assert (verified.ok, verified.checked, verified.first_bad_position) == (True, head + 2, None)
    await store.close()
    store = await open_store()
    assert store.head == head + 2
    assert [e.version for e in await store.read_stream("task-after")] == [1, 2]


# -- subscriptions --------------------------------------------------------------------


async def test_subscribe_sees_every_event_once_in_order_across_catch_up_and_live(
    store: SQLiteEventStore,
) -> None:
    await append_each(store, 50, "before")  # committed before anyone subscribed
    seen: list[Event] = []
    caught_up = asyncio.Event()
    total = 50 + 100 + 150

    async def follow() -> None:
        async with contextlib.aclosing(store.subscribe(from_position=1)) as subscription:
            async for event in subscription:
                seen.append(event)
                if event.position == 150:
                    caught_up.set()
                if event.position >= total:
                    return

    async with asyncio.timeout(WAIT * 2):
        follower = asyncio.create_task(follow())
        await append_each(store, 100, "during")  # while the follower catches up
        await caught_up.wait()
        for wave in range(15):  # while it waits for new commits
            await append_each(store, 10, f"live{wave}")
            await asyncio.sleep(0)
        await follower

    assert [e.position for e in seen] == list(range(1, total + 1))
    assert seen == await store.read_all(1, 1000)


async def test_subscribe_from_a_position_starts_there(store: SQLiteEventStore) -> None:
    await append_each(store, 30)

    async with contextlib.aclosing(store.subscribe(from_position=21)) as subscription:
        async with asyncio.timeout(WAIT):
            first = await take(subscription, 10)

    assert [e.position for e in first] == list(range(21, 31))


async def test_two_subscribers_each_see_every_event(store: SQLiteEventStore) -> None:
    async def collect(until: int) -> list[int]:
        positions = []
        async with contextlib.aclosing(store.subscribe()) as subscription:
            async for event in subscription:
                positions.append(event.position)
                if event.position == until:
                    return positions
        return positions

    async with asyncio.timeout(WAIT):
        followers = [asyncio.create_task(collect(120)) for _ in range(2)]
        for wave in range(12):
            await append_each(store, 10, f"w{wave}")
        first, second = await asyncio.gather(*followers)

    assert first == second == list(range(1, 121))


async def test_subscribe_on_a_reopened_store_catches_up_from_disk(
    store: SQLiteEventStore, open_store: OpenStore
) -> None:
    await append_each(store, 40)
    written = await store.read_all(1, 100)
    await store.close()
    store = await open_store()

    async with contextlib.aclosing(store.subscribe()) as subscription:
        async with asyncio.timeout(WAIT):
            seen = await take(subscription, 40)

    assert seen == written


async def test_subscription_ends_when_the_store_closes(store: SQLiteEventStore) -> None:
    await append_each(store, 5)
    seen: list[int] = []
    caught_up = asyncio.Event()

    async def follow() -> None:
        async for event in store.subscribe():
            seen.append(event.position)
            if event.position == 5:
                caught_up.set()

    follower = asyncio.create_task(follow())
    async with asyncio.timeout(WAIT):
        await caught_up.wait()
        await store.close()
        await follower

    assert seen == [1, 2, 3, 4, 5]


# -- the database refuses changes -----------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET data = CAST('{}' AS BLOB) WHERE position = 3",
        "UPDATE events SET hash = 'x' WHERE position = 3",
        "UPDATE events SET stream = 'elsewhere'",
        "INSERT INTO events SELECT * FROM events WHERE position = 3"
        " ON CONFLICT (position) DO UPDATE SET hash = 'x'",
    ],
)
async def test_update_of_the_events_table_is_refused_by_the_database(
    store: SQLiteEventStore, events_db: Path, statement: str
) -> None:
    await append_each(store, 5)
    before = query(events_db, "SELECT * FROM events ORDER BY position")

    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        execute(events_db, statement)

    assert query(events_db, "SELECT * FROM events ORDER BY position") == before


@pytest.mark.parametrize(
    "statement",
    ["DELETE FROM events WHERE position = 3", "DELETE FROM events"],
)
async def test_delete_from_the_events_table_is_refused_by_the_database(
    store: SQLiteEventStore, events_db: Path, statement: str
) -> None:
    await append_each(store, 5)

    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        execute(events_db, statement)

    assert query(events_db, "SELECT count(*) FROM events") == [(5,)]


async def test_insert_or_replace_over_a_written_row_is_refused_by_the_database(
    store: SQLiteEventStore, events_db: Path
) -> None:
    # REPLACE deletes the old row without firing DELETE triggers (recursive_triggers is
    # off by default): it is an UPDATE by another name.
    await append_each(store, 5)
    before = query(events_db, "SELECT * FROM events ORDER BY position")

    with pytest.raises(sqlite3.DatabaseError):
        execute(
            events_db,
            (
                "INSERT OR REPLACE INTO events SELECT position, event_id, stream, version, type,"
                " schema, ts, CAST('{\"forged\": true}' AS BLOB), meta, hash"
                " FROM events WHERE position = 3",
                (),
            ),
        )

    assert query(events_db, "SELECT * FROM events ORDER BY position") == before


# -- commits the database refuses -----------------------------------------------------

_POISON = (
    "CREATE TRIGGER refuse_poison BEFORE INSERT ON events WHEN NEW.stream LIKE 'poison%'"
    " BEGIN SELECT RAISE(ABORT, 'disk says no'); END"
)


@pytest.mark.parametrize("expected", [NO_STREAM, ANY_VERSION])
async def test_append_the_database_refuses_raises_store_write_error_and_takes_no_position(
    store: SQLiteEventStore, events_db: Path, expected: int
) -> None:
    await append_each(store, 3)
    execute(events_db, _POISON)

    with pytest.raises(StoreWriteError, match="disk says no") as caught:
        async with asyncio.timeout(WAIT):
            await store.append("poison-1", expected, [created("p")])

    assert isinstance(caught.value.__cause__, sqlite3.Error)
    assert store.head == 3
    async with asyncio.timeout(WAIT):
        after = await store.append("task-after", NO_STREAM, [created("after")])
    assert after.first_position == 4
    assert (await verify_log(store)).ok


async def test_refused_commits_amid_concurrent_appends_leave_no_gap_and_no_phantom(
    store: SQLiteEventStore, events_db: Path
) -> None:
    execute(events_db, _POISON)

    async with asyncio.timeout(WAIT * 2):
        outcomes = await asyncio.gather(
            *[
                store.append(
                    "poison-" if n % 50 == 7 else f"task-{n}",
                    ANY_VERSION,
                    [created(str(n))] * (n % 3 + 1),
                )
                for n in range(400)
            ],
            return_exceptions=True,
        )

    landed = [o for o in outcomes if isinstance(o, AppendResult)]
    refused = [o for o in outcomes if not isinstance(o, AppendResult)]
    assert refused and all(isinstance(o, StoreWriteError) for o in refused)
    assert all(isinstance(outcomes[n], StoreWriteError) for n in range(7, 400, 50))
    # Every append that returned is in the log exactly where it said; nothing else is.
    stored = {
        event_id: position
        for event_id, position in query(events_db, "SELECT event_id, position FROM events")
    }
    returned = {e.event_id: e.position for r in landed for e in r.events}
    assert stored == returned
    assert sorted(stored.values()) == list(range(1, store.head + 1))
    assert (await verify_log(store)).ok
