"""The hash chain (events.store.chain) and verify_log naming the first position it breaks."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from events.envelope import Meta
from events.store import NO_STREAM, STORED_FIELDS, SQLiteEventStore
from events.store.chain import GENESIS, canonical_bytes, link
from events.types import TaskCreated
from events.verify import verify_log

from .support import WAIT, execute, query

HEAD = 100
BAD = 37


@pytest.fixture
async def log(store: SQLiteEventStore) -> SQLiteEventStore:
    """100 events, one per stream, each with meta: every stored column has bytes to tamper."""
    async with asyncio.timeout(WAIT):
        for wave in range(0, HEAD, 20):
            await asyncio.gather(
                *[
                    store.append(
                        f"task-{n:03d}",
                        NO_STREAM,
                        [TaskCreated(task_id=f"{n:03d}", task_type="echo", parameters={"n": n})],
                        Meta(correlation_id=f"corr-{n:03d}", actor="tester"),
                    )
                    for n in range(wave, wave + 20)
                ]
            )
    assert store.head == HEAD
    return store


def flip_one_byte(value: bytes) -> bytes:
    """`value` with the case of its last letter flipped: one byte differs, JSON stays valid."""
    at = max(i for i, b in enumerate(value) if chr(b).isalpha())
    changed = bytearray(value)
    changed[at] ^= 0x20
    assert sum(a != b for a, b in zip(value, changed, strict=True)) == 1
    return bytes(changed)


def row(events_db: Path, position: int) -> dict[str, Any]:
    [values] = query(
        events_db, f"SELECT {', '.join(STORED_FIELDS)} FROM events WHERE position = ?", (position,)
    )
    return dict(zip(STORED_FIELDS, values, strict=True))


def tamper(events_db: Path, position: int, column: str, value: object) -> None:
    execute(
        events_db,
        "DROP TRIGGER events_refuse_update",
        (f"UPDATE events SET {column} = ? WHERE position = ?", (value, position)),
    )


def canonical(stored: dict[str, Any]) -> bytes:
    return canonical_bytes(
        stored["position"],
        stored["event_id"],
        stored["stream"],
        stored["version"],
        stored["type"],
        stored["schema"],
        stored["ts"],
        stored["data"],
        stored["meta"],
    )


async def test_untouched_log_verifies_ok_with_every_position_checked(
    log: SQLiteEventStore,
) -> None:
    result = await verify_log(log)

    assert result.ok
    assert result.checked == result.head == log.head == HEAD
    assert (result.first_bad_position, result.reason) == (None, None)


async def test_empty_log_verifies_ok_with_nothing_checked(store: SQLiteEventStore) -> None:
    result = await verify_log(store)
    assert (result.ok, result.checked, result.head) == (True, 0, 0)


async def test_each_stored_hash_is_sha256_of_the_previous_hash_and_the_canonical_row(
    log: SQLiteEventStore, events_db: Path
) -> None:
    previous = GENESIS
    for position in range(1, HEAD + 1):
        stored = row(events_db, position)
        expected = hashlib.sha256(previous + canonical(stored)).digest()
        assert link(previous, canonical(stored)) == expected
        assert stored["hash"] == expected.hex()
        previous = expected


async def test_append_result_hashes_are_the_stored_hashes(
    log: SQLiteEventStore, events_db: Path
) -> None:
    result = await log.append(
        "task-extra", NO_STREAM, [TaskCreated(task_id="x", task_type="echo", parameters={})]
    )
    assert result.events[0].hash == row(events_db, HEAD + 1)["hash"]
    assert [e.hash for e in await log.read_all(1, 1000)] == [
        h for (h,) in query(events_db, "SELECT hash FROM events ORDER BY position")
    ]


@pytest.mark.parametrize(
    ("column", "change"),
    [
        ("data", flip_one_byte),
        ("meta", flip_one_byte),
        ("stream", lambda v: v + "x"),
        ("event_id", lambda v: v[:-1] + ("0" if v[-1] != "0" else "1")),
        ("version", lambda v: v + 1),
        ("type", lambda v: v.replace("created", "createD")),
        ("schema", lambda v: v + 1),
        ("ts", lambda v: v + 1),
        ("hash", lambda v: ("0" if v[0] != "0" else "1") + v[1:]),
    ],
)
async def test_changing_one_column_of_one_row_fails_verify_at_that_position(
    log: SQLiteEventStore, events_db: Path, column: str, change: Callable[[Any], Any]
) -> None:
    original = row(events_db, BAD)[column]
    tamper(events_db, BAD, column, change(original))
    assert row(events_db, BAD)[column] != original

    result = await verify_log(log)

    assert not result.ok
    assert result.first_bad_position == BAD
    assert result.checked == BAD - 1
    assert result.reason and "hash" in result.reason


async def test_one_changed_byte_in_the_data_of_position_37_of_100_fails_verify_at_37(
    log: SQLiteEventStore, events_db: Path
) -> None:
    data = row(events_db, BAD)["data"]
    assert isinstance(data, bytes)
    tamper(events_db, BAD, "data", flip_one_byte(data))

    result = await verify_log(log)

    assert (result.ok, result.first_bad_position) == (False, BAD)


async def test_deleted_row_fails_verify_at_the_missing_position(
    log: SQLiteEventStore, events_db: Path
) -> None:
    execute(
        events_db,
        "DROP TRIGGER events_refuse_delete",
        ("DELETE FROM events WHERE position = ?", (BAD,)),
    )

    result = await verify_log(log)

    assert not result.ok
    assert result.first_bad_position == BAD
    assert result.checked == BAD - 1
    assert result.reason and "missing" in result.reason


async def test_row_rewritten_with_a_recomputed_hash_breaks_the_chain_at_the_next_position(
    log: SQLiteEventStore, events_db: Path
) -> None:
    forged = row(events_db, BAD)
    forged["data"] = flip_one_byte(forged["data"])
    previous = bytes.fromhex(row(events_db, BAD - 1)["hash"])
    execute(
        events_db,
        "DROP TRIGGER events_refuse_update",
        (
            "UPDATE events SET data = ?, hash = ? WHERE position = ?",
            (forged["data"], link(previous, canonical(forged)).hex(), BAD),
        ),
    )

    result = await verify_log(log)

    assert (result.ok, result.first_bad_position, result.checked) == (False, BAD + 1, BAD)


async def test_verify_reports_progress_for_every_row_it_checks(log: SQLiteEventStore) -> None:
    reported: list[int] = []
    result = await verify_log(log, progress=reported.append)
    assert result.ok
    assert sum(reported) == HEAD


# -- resuming from an anchor: a periodic check hashes only what came since -------------


async def test_a_walk_ends_with_an_anchor_at_its_last_event(
    log: SQLiteEventStore, events_db: Path
) -> None:
    result = await verify_log(log)

    assert result.anchor == (HEAD, row(events_db, HEAD)["hash"])


async def test_resuming_from_an_anchor_checks_only_the_events_after_it(
    log: SQLiteEventStore, events_db: Path
) -> None:
    first = await verify_log(log)
    await log.append(
        "task-extra", NO_STREAM, [TaskCreated(task_id="x", task_type="echo", parameters={})]
    )

    resumed = await verify_log(log, after=first.anchor)

    assert (resumed.ok, resumed.checked, resumed.head) == (True, 1, HEAD + 1)
    assert resumed.anchor == (HEAD + 1, row(events_db, HEAD + 1)["hash"])
    assert (await verify_log(log, after=resumed.anchor)).checked == 0


async def test_a_resumed_walk_names_a_changed_event_after_its_anchor(
    log: SQLiteEventStore, events_db: Path
) -> None:
    anchor = (BAD - 1, row(events_db, BAD - 1)["hash"])
    tamper(events_db, BAD, "data", flip_one_byte(row(events_db, BAD)["data"]))

    result = await verify_log(log, after=anchor)

    assert (result.ok, result.first_bad_position, result.checked) == (False, BAD, 0)
    assert result.anchor == anchor  # the next check starts at the break again


async def test_a_resumed_walk_refuses_an_anchor_whose_hash_was_rewritten(
    log: SQLiteEventStore, events_db: Path
) -> None:
    anchor = (BAD, row(events_db, BAD)["hash"])
    tamper(events_db, BAD, "hash", "0" * 64)

    result = await verify_log(log, after=anchor)

    assert (result.ok, result.first_bad_position, result.anchor) == (False, BAD, None)
