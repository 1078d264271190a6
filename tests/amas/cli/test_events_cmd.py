"""`amas events verify|tail|replay`, run as the user runs them: a process on a data folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

from events.envelope import Event, decode_event
from tests.events.support import LOG_TASKS, execute, query
from tests.served import run_cli


def amas(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli(*args, cwd=cwd)


def test_verify_exits_0_on_an_intact_log(
    written: list[Event], data_dir: Path, tmp_path: Path
) -> None:
    done = amas("events", "verify", "--data-dir", str(data_dir), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert f"ok: {len(written)} events" in done.stdout


def test_verify_exits_1_naming_the_position_of_a_tampered_event(
    written: list[Event], data_dir: Path, tmp_path: Path
) -> None:
    events_db = data_dir / "events.db"
    [(data,)] = query(events_db, "SELECT data FROM events WHERE position = 17")
    execute(
        events_db,
        "DROP TRIGGER events_refuse_update",
        ("UPDATE events SET data = ? WHERE position = 17", (data.replace(b"t", b"T", 1),)),
    )

    done = amas("events", "verify", "--data-dir", str(data_dir), cwd=tmp_path)

    assert done.returncode == 1
    assert "broken at position 17" in done.stdout


def test_tail_no_follow_prints_the_last_ten_events_and_exits(
    written: list[Event], data_dir: Path, tmp_path: Path
) -> None:
    done = amas("events", "tail", "--no-follow", "--data-dir", str(data_dir), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 10
    for line, event in zip(lines, written[-10:], strict=True):
        position, _, kind, where, *_ = line.split()
        assert (int(position), kind, where) == (
            event.position,
            event.type,
            f"{event.stream}@{event.version}",
        )


def test_tail_from_position_one_as_json_prints_every_event(
    written: list[Event], data_dir: Path, tmp_path: Path
) -> None:
    done = amas(
        "events",
        "tail",
        "--no-follow",
        "--from",
        "1",
        "--json",
        "--data-dir",
        str(data_dir),
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    assert [decode_event(line.encode()) for line in done.stdout.splitlines()] == written


def test_tail_filters_by_type_and_stream_prefix(
    written: list[Event], data_dir: Path, tmp_path: Path
) -> None:
    done = amas(
        "events",
        "tail",
        "--no-follow",
        "--from",
        "1",
        "--type",
        "task.c*",
        "--stream",
        "task-t000",
        "--data-dir",
        str(data_dir),
        cwd=tmp_path,
    )

    assert done.returncode == 0, done.stderr
    expected = [
        e.position
        for e in written
        if e.type.startswith("task.c") and e.stream.startswith("task-t000")
    ]
    assert expected
    assert [int(line.split()[0]) for line in done.stdout.splitlines()] == expected


def test_replay_rebuilds_the_projections_and_says_how_many_events_it_read(
    written: list[Event], data_dir: Path, tmp_path: Path
) -> None:
    done = amas("events", "replay", "--data-dir", str(data_dir), cwd=tmp_path)

    assert done.returncode == 0, done.stderr
    assert f"replayed {len(written)} events" in done.stdout
    assert query(data_dir / "projections.db", "SELECT count(*) FROM tasks") == [(LOG_TASKS,)]


def test_verify_and_tail_say_when_there_is_no_log_and_create_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-data"
    for command in (["verify"], ["tail", "--no-follow"]):
        done = amas("events", *command, "--data-dir", str(missing), cwd=tmp_path)
        assert done.returncode == 1
        assert "no event log at" in done.stderr
    assert not missing.exists()  # read-only: a wrong folder is not turned into a new log
