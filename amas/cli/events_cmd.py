"""`amas events tail|verify|export|replay`: the log, read straight from the data folder."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from amas.cli.common import add_data_dir, data_paths
from amas.cli.task_cmd import register_events_sub
from events.envelope import Event, encode_event
from events.projections import ProjectionRunner, all_projections
from events.store import LogFilter, SQLiteEventStore
from events.verify import verify_log

_POLL_SECONDS = 0.2
_TAIL_BATCH = 1000
_EXPORT_WINDOW = 10_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("events", help="read, verify and replay the event log")
    sub = group.add_subparsers(dest="events_command", required=True, metavar="ACTION")

    tail = sub.add_parser("tail", help="print the log and follow it (like tail -f)")
    add_data_dir(tail)
    tail.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="TYPE",
        help="only this event type, or a prefix ending in '*' (repeatable)",
    )
    tail.add_argument(
        "--stream", default=None, metavar="PREFIX", help="only streams starting with PREFIX"
    )
    tail.add_argument(
        "--from",
        dest="from_position",
        type=int,
        default=None,
        metavar="N",
        help="start at position N (default: the last 10 events)",
    )
    tail.add_argument("--no-follow", action="store_true", help="stop at the end of the log")
    tail.add_argument("--json", action="store_true", help="one JSON envelope per line")
    tail.set_defaults(run=lambda args: asyncio.run(_tail(args)))

    verify = sub.add_parser("verify", help="check the hash chain; exit 1 at the first break")
    add_data_dir(verify)
    verify.set_defaults(run=lambda args: asyncio.run(_verify(args)))

    register_events_sub(sub)

    export = sub.add_parser(
        "export",
        help="the log as JSON Lines on stdout, one envelope per line, for auditors",
        description="Write envelopes (as the relay publishes them; data and meta are the "
        "stored bytes the hash covers) in position order to stdout. Reads "
        "the log read-only: the node may be running.",
    )
    add_data_dir(export)
    export.add_argument(
        "--since",
        type=_since,
        default=None,
        metavar="POSITION|TIME",
        help="from this position, or from this ISO 8601 time (inclusive)",
    )
    export.add_argument(
        "--until",
        type=_position,
        default=None,
        metavar="POSITION",
        help="up to this position (inclusive; default the head at start)",
    )
    export.add_argument(
        "--type",
        action="append",
        default=[],
        metavar="TYPE",
        help="only this event type, or a prefix ending in '*' (repeatable)",
    )
    export.add_argument(
        "--stream",
        default=None,
        metavar="STREAM",
        help="only this stream, or streams starting with a prefix ending in '*'",
    )
    export.set_defaults(run=lambda args: asyncio.run(_export(args)))

    replay = sub.add_parser(
        "replay",
        help="rebuild every projection from the log",
        description="Without options: drop and rebuild the data folder's projections (stop "
        "the node first). With --into DIR: build them afresh in "
        "DIR/projections.db, as they stood at --until (default: the head), "
        "leaving the live ones alone; the node may be running.",
    )
    add_data_dir(replay)
    replay.add_argument(
        "--until",
        type=_position,
        default=None,
        metavar="POSITION",
        help="stop after this position (needs --into)",
    )
    replay.add_argument(
        "--into",
        type=Path,
        default=None,
        metavar="DIR",
        help="a new folder for the rebuilt projections.db",
    )
    replay.set_defaults(run=lambda args: asyncio.run(_replay(args)))


def _position(text: str) -> int:
    try:
        position = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a position: {text!r}") from None
    if position < 1:
        raise argparse.ArgumentTypeError(f"positions start at 1, not {position}")
    return position


def _since(text: str) -> int | datetime:
    """A position, or an ISO 8601 time (a naive one is UTC)."""
    if text.lstrip("-").isdigit():
        return _position(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"neither a position nor an ISO 8601 time: {text!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _matches(event: Event, types: list[str], stream_prefix: str | None) -> bool:
    if stream_prefix is not None and not event.stream.startswith(stream_prefix):
        return False
    if not types:
        return True
    return any(event.type.startswith(t[:-1]) if t.endswith("*") else event.type == t for t in types)


def format_event(event: Event) -> str:
    data = msgspec.json.encode(event.data).decode()
    ts = event.ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{event.position:>8}  {ts}  {event.type:<16} {event.stream}@{event.version}  {data}"


async def _open_log(args: argparse.Namespace, command: str) -> SQLiteEventStore | None:
    """The log, read-only: a running node may be writing it, and must not wait on us."""
    try:
        return await SQLiteEventStore.open_readonly(data_paths(args).events_db)
    except FileNotFoundError as e:
        print(f"amas events {command}: {e}", file=sys.stderr)
        return None


async def _tail(args: argparse.Namespace) -> int:
    store = await _open_log(args, "tail")
    if store is None:
        return 1
    try:
        # Another process (the node) may be writing: follow by reading, not by waiting.
        head = await store.last_position()
        position = args.from_position if args.from_position is not None else max(1, head - 9)
        out = sys.stdout
        while True:
            batch = await store.read_all(position, _TAIL_BATCH)
            for event in batch:
                if _matches(event, args.type, args.stream):
                    out.write(encode_event(event).decode() if args.json else format_event(event))
                    out.write("\n")
            out.flush()
            if batch:
                position = batch[-1].position + 1
            elif args.no_follow:
                return 0
            else:
                await asyncio.sleep(_POLL_SECONDS)
    finally:
        await store.close()


async def _verify(args: argparse.Namespace) -> int:
    console = Console(stderr=True)
    store = await _open_log(args, "verify")
    if store is None:
        return 1
    try:
        started = time.perf_counter()
        result = await verify_log(store)
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
    if result.ok:
        print(
            f"ok: {result.checked} events, hash chain intact "
            f"({result.checked / max(elapsed, 1e-9):,.0f} events/s)"
        )
        return 0
    console.print(f"[bold red]broken[/] at position {result.first_bad_position}: {result.reason}")
    print(f"broken at position {result.first_bad_position}")
    return 1


async def _export(args: argparse.Namespace) -> int:
    paths = data_paths(args)
    try:
        store = await SQLiteEventStore.open_readonly(paths.events_db)
    except FileNotFoundError as e:
        print(f"amas events export: {e}", file=sys.stderr)
        return 1
    since = args.since
    where = LogFilter(
        stream=args.stream,
        types=tuple(args.type),
        since_ts=(since - _EPOCH) // timedelta(microseconds=1)
        if isinstance(since, datetime)
        else None,
    )
    out = sys.stdout.buffer
    written = 0
    try:
        started = time.perf_counter()
        # A snapshot: what was committed when the export began, even if the node goes on.
        head = await store.last_position()
        last = head if args.until is None else min(args.until, head)
        position = since if isinstance(since, int) else 1
        while position <= last:
            end = min(position + _EXPORT_WINDOW, last + 1)
            found = await store.read_envelopes(position, end, where, end - position)
            for _, envelope in found:
                out.write(envelope)
                out.write(b"\n")
            written += len(found)
            position = end
        out.flush()
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
    print(
        f"exported {written} events (positions up to {last}; the log's head {head}) "
        f"in {elapsed:.2f} s",
        file=sys.stderr,
    )
    return 0


async def _replay(args: argparse.Namespace) -> int:
    if args.into is not None:
        return await _replay_into(args)
    if args.until is not None:
        print(
            "amas events replay: --until needs --into DIR: rebuilding the live projections "
            "as of an earlier position would hand the node a past it has moved on from",
            file=sys.stderr,
        )
        return 2
    paths = data_paths(args)
    store = await SQLiteEventStore.open(paths.events_db)
    runner = await ProjectionRunner.open(store, paths.projections_db, all_projections())
    total = await store.last_position()
    try:
        with Progress(
            TextColumn("replaying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            bar = progress.add_task("replay", total=total)
            started = time.perf_counter()
            count = await runner.rebuild(progress=lambda n: progress.advance(bar, n))
            elapsed = time.perf_counter() - started
    finally:
        await runner.close()
        await store.close()
    names = ", ".join(runner.projections)
    print(
        f"replayed {count} events into {names} in {elapsed:.2f} s "
        f"({count / max(elapsed, 1e-9):,.0f} events/s)"
    )
    return 0


async def _replay_into(args: argparse.Namespace) -> int:
    """The projections as of --until, built in a new folder from a read-only log."""
    paths = data_paths(args)
    into = args.into.expanduser().resolve()
    target = into / paths.projections_db.name
    if into == paths.root:
        print(
            f"amas events replay: --into {into} is the data folder itself; choose a new folder",
            file=sys.stderr,
        )
        return 2
    if target.exists():
        print(f"amas events replay: {target} exists already; choose a new folder", file=sys.stderr)
        return 2
    try:
        store = await SQLiteEventStore.open_readonly(paths.events_db)
    except FileNotFoundError as e:
        print(f"amas events replay: {e}", file=sys.stderr)
        return 1
    try:
        head = await store.last_position()
        until = head if args.until is None else min(args.until, head)
        runner = await ProjectionRunner.open(store, target, all_projections())
        try:
            with Progress(
                TextColumn("replaying"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            ) as progress:
                bar = progress.add_task("replay", total=until)
                started = time.perf_counter()
                count = await runner.rebuild(
                    until=until, progress=lambda n: progress.advance(bar, n)
                )
                elapsed = time.perf_counter() - started
        finally:
            await runner.close()
    finally:
        await store.close()
    names = ", ".join(runner.projections)
    print(
        f"replayed {count} events into {names} in {elapsed:.2f} s "
        f"({count / max(elapsed, 1e-9):,.0f} events/s)"
    )
    print(f"projections as of position {until} (the log's head {head}) in {target}")
    return 0
