"""`amas events export` and `amas events replay --until --into`, run as processes on a data
folder: on a log at rest, and beside a running node that goes on writing."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from amas.runtime.node import Node
from events.envelope import Event, encode_event
from events.projections import ProjectionRunner, all_projections
from events.store import SQLiteEventStore
from events.store.chain import GENESIS, canonical_bytes
from tests.events.support import WAIT, close_store, query
from tests.served import run_cli

PROJECTION_TABLES = ("tasks", "agents", "api_keys")


def amas(data_dir: Path, *args: str) -> Any:
    return run_cli("events", *args, "--data-dir", str(data_dir))


def lines_of(done: Any) -> list[bytes]:
    assert done.returncode == 0, done.stderr
    return [line.encode() for line in done.stdout.splitlines()]


def tables(projections_db: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {t: query(projections_db, f"SELECT * FROM {t} ORDER BY 1") for t in PROJECTION_TABLES}


class _Exported(msgspec.Struct):
    position: int
    event_id: str
    stream: str
    version: int
    type: str
    schema: int
    ts: datetime
    data: msgspec.Raw
    meta: msgspec.Raw
    hash: str


# -- export ------------------------------------------------------------------------------


def test_export_writes_every_envelope_as_the_relay_encodes_it(
    written: list[Event], data_dir: Path
) -> None:
    done = amas(data_dir, "export")

    assert lines_of(done) == [encode_event(e) for e in written]
    assert f"exported {len(written)} events" in done.stderr


def test_an_export_can_be_verified_without_amas(written: list[Event], data_dir: Path) -> None:
    """data and meta are the stored bytes: the chain can be recomputed from the file."""
    previous = GENESIS
    for line in lines_of(amas(data_dir, "export")):
        e = msgspec.json.decode(line, type=_Exported)
        micros = int(e.ts.timestamp()) * 1_000_000 + e.ts.microsecond
        previous = sha256(
            previous
            + canonical_bytes(
                e.position,
                e.event_id,
                e.stream,
                e.version,
                e.type,
                e.schema,
                micros,
                bytes(e.data),
                bytes(e.meta),
            )
        ).digest()
        assert previous.hex() == e.hash, e.position


def test_export_since_a_position_and_until_a_position(written: list[Event], data_dir: Path) -> None:
    assert lines_of(amas(data_dir, "export", "--since", "17")) == [
        encode_event(e) for e in written[16:]
    ]
    assert lines_of(amas(data_dir, "export", "--since", "17", "--until", "30")) == [
        encode_event(e) for e in written[16:30]
    ]
    assert lines_of(amas(data_dir, "export", "--until", "5")) == [
        encode_event(e) for e in written[:5]
    ]
    assert lines_of(amas(data_dir, "export", "--since", str(len(written) + 1))) == []


def test_export_since_a_time(written: list[Event], data_dir: Path) -> None:
    moments = sorted({e.ts for e in written})
    assert len(moments) > 2  # several commits, so a cut falls between events
    cut = moments[len(moments) // 2]
    expected = [encode_event(e) for e in written if e.ts >= cut]
    assert 0 < len(expected) < len(written)

    assert lines_of(amas(data_dir, "export", "--since", cut.isoformat())) == expected
    naive = cut.replace(tzinfo=None).isoformat()  # a time without a zone is UTC
    assert lines_of(amas(data_dir, "export", "--since", naive)) == expected


def test_export_filters_by_type_and_stream(written: list[Event], data_dir: Path) -> None:
    done = amas(
        data_dir, "export", "--type", "task.c*", "--type", "agent.started", "--stream", "task-t000*"
    )
    assert lines_of(done) == [
        encode_event(e)
        for e in written
        if e.stream.startswith("task-t000")
        and (e.type.startswith("task.c") or e.type == "agent.started")
    ]
    exact = amas(data_dir, "export", "--stream", "task-t0003")
    assert lines_of(exact) == [encode_event(e) for e in written if e.stream == "task-t0003"]


@pytest.mark.parametrize("since", ["0", "-4", "last tuesday"])
def test_export_refuses_a_bad_since(written: list[Event], data_dir: Path, since: str) -> None:
    done = amas(data_dir, "export", "--since", since)
    assert done.returncode == 2
    assert "--since" in done.stderr
    assert done.stdout == ""


def test_export_without_a_log_says_so_and_creates_nothing(tmp_path: Path) -> None:
    done = amas(tmp_path / "nothing", "export")
    assert done.returncode == 1
    assert "no event log" in done.stderr
    assert not (tmp_path / "nothing").exists()


# -- replay --until --into -----------------------------------------------------------------


def test_replay_until_without_into_refuses_and_leaves_the_projections(
    written: list[Event], data_dir: Path
) -> None:
    assert amas(data_dir, "replay").returncode == 0
    before = tables(data_dir / "projections.db")

    done = amas(data_dir, "replay", "--until", "10")

    assert done.returncode == 2
    assert "--into" in done.stderr
    assert tables(data_dir / "projections.db") == before


def test_replay_into_the_data_folder_or_over_a_projections_db_is_refused(
    written: list[Event], data_dir: Path, tmp_path: Path
) -> None:
    assert amas(data_dir, "replay", "--into", str(data_dir)).returncode == 2
    assert not (data_dir / "projections.db").exists()
    assert (
        amas(data_dir, "replay", "--into", str(tmp_path / "at-20"), "--until", "20").returncode == 0
    )
    again = amas(data_dir, "replay", "--into", str(tmp_path / "at-20"), "--until", "30")
    assert again.returncode == 2
    assert "exists" in again.stderr


async def _followed_to(events_db: Path, until: int, folder: Path) -> Path:
    """Projections that followed, live, a log ending at `until`: its first `until` events
    copied into a log of their own, and a runner started on it as the node starts one."""
    copy = folder / "events.db"
    await close_store(await SQLiteEventStore.open(copy))
    with sqlite3.connect(copy, isolation_level=None) as db:
        db.execute("ATTACH DATABASE ? AS source", (str(events_db),))
        db.execute("INSERT INTO events SELECT * FROM source.events WHERE position <= ?", (until,))
        db.execute("DETACH DATABASE source")
    store = await SQLiteEventStore.open(copy)
    try:
        runner = await ProjectionRunner.open(store, folder / "projections.db", all_projections())
        runner.start()
        try:
            await runner.wait_for(until, timeout=WAIT)
        finally:
            await runner.close()
    finally:
        await close_store(store)
    return folder / "projections.db"


async def test_replay_until_matches_projections_that_followed_the_log_to_that_position(
    written: list[Event], data_dir: Path, tmp_path: Path
) -> None:
    for until in (9, 40, len(written) - 3):
        live_db = await _followed_to(data_dir / "events.db", until, tmp_path / f"live-{until}")
        into = tmp_path / f"replayed-{until}"

        done = await asyncio.to_thread(
            amas, data_dir, "replay", "--until", str(until), "--into", str(into)
        )

        assert done.returncode == 0, done.stderr
        assert f"replayed {until} events" in done.stdout
        assert f"as of position {until}" in done.stdout
        rebuilt = tables(into / "projections.db")
        assert rebuilt == tables(live_db)
        assert rebuilt["tasks"] and rebuilt["agents"]
        assert query(
            into / "projections.db", "SELECT DISTINCT position FROM projection_checkpoints"
        ) == [(until,)]
    assert not (data_dir / "projections.db").exists()


# -- beside a running node -------------------------------------------------------------------


async def test_export_and_replay_beside_a_running_node_leave_its_projections_alone(
    node: Node,
    api: httpx.AsyncClient,
    tmp_path: Path,
    wait_task: Callable[..., Awaitable[dict[str, Any]]],
) -> None:
    async def submit(parameters: dict[str, Any]) -> str:
        response = await api.post("/tasks", json={"task_type": "echo", "parameters": parameters})
        assert response.status_code == 201, response.text
        task_id: str = response.json()["task_id"]
        return task_id

    done_task = await submit({"n": 1})
    await wait_task(done_task, "completed")
    running = await submit({"delay": 30})
    await wait_task(running, "in_progress")
    await node.projections.wait_for(node.store.head)
    at = node.store.head
    live = node.config.data.projections_db
    as_it_was = tables(live)

    assert (await api.delete(f"/tasks/{running}")).status_code == 200
    later = await submit({"n": 2})
    await wait_task(later, "completed")
    await node.projections.wait_for(node.store.head)
    before = tables(live)
    checkpoints = query(live, "SELECT * FROM projection_checkpoints ORDER BY name")
    assert before != as_it_was

    into = tmp_path / "as-of"
    replayed = await asyncio.to_thread(
        run_cli,
        "events",
        "replay",
        "--until",
        str(at),
        "--into",
        str(into),
        "--data-dir",
        str(node.config.data.root),
    )
    exported = await asyncio.to_thread(
        run_cli, "events", "export", "--data-dir", str(node.config.data.root)
    )

    assert replayed.returncode == 0, replayed.stderr
    rebuilt = tables(into / "projections.db")
    assert rebuilt == as_it_was
    statuses = dict(query(into / "projections.db", "SELECT task_id, status FROM tasks"))
    assert statuses == {done_task: "completed", running: "in_progress"}
    assert tables(live) == before
    assert query(live, "SELECT * FROM projection_checkpoints ORDER BY name") == checkpoints
    assert lines_of(exported) == [
        encode_event(e) for e in await node.store.read_all(1, node.store.head)
    ]
    # The node still writes to its log and its projections follow.
    after = await submit({"n": 3})
    await wait_task(after, "completed")


def test_replay_is_refused_over_a_live_projections_file_named_through_a_link(
    written: list[Event], data_dir: Path, tmp_path: Path
) -> None:
    assert amas(data_dir, "replay").returncode == 0
    link = tmp_path / "link"
    link.symlink_to(data_dir)
    done = amas(data_dir, "replay", "--until", "5", "--into", str(link))
    assert done.returncode == 2
    assert query(
        data_dir / "projections.db", "SELECT DISTINCT position FROM projection_checkpoints"
    ) == [(len(written),)]


def test_export_leaves_the_log_file_as_it_was(written: list[Event], data_dir: Path) -> None:
    before = (data_dir / "events.db").read_bytes()
    lines_of(amas(data_dir, "export"))
    assert (data_dir / "events.db").read_bytes() == before
    with sqlite3.connect(data_dir / "events.db") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
