"""`amas events tail|verify|replay`: the log, read straight from the data folder."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time

import msgspec
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from amas.cli.common import add_data_dir, data_paths
from amas.cli.task_cmd import register_events_sub
from events.envelope import Event, encode_event
from events.projections import ProjectionRunner, all_projections
from events.store import SQLiteEventStore
from events.verify import verify_log

_POLL_SECONDS = 0.2
_TAIL_BATCH = 1000


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("events", help="read, verify and replay the event log")
    sub = group.add_subparsers(dest="events_command", required=True, metavar="ACTION")

    tail = sub.add_parser("tail", help="print the log and follow it (like tail -f)")
    add_data_dir(tail)
    tail.add_argument("--type", action="append", default=[], metavar="TYPE",
                      help="only this event type, or a prefix ending in '*' (repeatable)")
    tail.add_argument("--stream", default=None, metavar="PREFIX",
                      help="only streams starting with PREFIX")
    tail.add_argument("--from", dest="from_position", type=int, default=None, metavar="N",
                      help="start at position N (default: the last 10 events)")
    tail.add_argument("--no-follow", action="store_true", help="stop at the end of the log")
    tail.add_argument("--json", action="store_true", help="one JSON envelope per line")
    tail.set_defaults(run=lambda args: asyncio.run(_tail(args)))

    verify = sub.add_parser("verify", help="check the hash chain; exit 1 at the first break")
    add_data_dir(verify)
    verify.set_defaults(run=lambda args: asyncio.run(_verify(args)))

    register_events_sub(sub)

    replay = sub.add_parser("replay", help="rebuild every projection from the log")
    add_data_dir(replay)
    replay.set_defaults(run=lambda args: asyncio.run(_replay(args)))


def _matches(event: Event, types: list[str], stream_prefix: str | None) -> bool:
    if stream_prefix is not None and not event.stream.startswith(stream_prefix):
        return False
    if not types:
        return True
    return any(
        event.type.startswith(t[:-1]) if t.endswith("*") else event.type == t for t in types
    )


def format_event(event: Event) -> str:
    data = msgspec.json.encode(event.data).decode()
    ts = event.ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return f"{event.position:>8}  {ts}  {event.type:<16} {event.stream}@{event.version}  {data}"


async def _tail(args: argparse.Namespace) -> int:
    store = await SQLiteEventStore.open(data_paths(args).events_db)
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
    store = await SQLiteEventStore.open(data_paths(args).events_db)
    try:
        started = time.perf_counter()
        result = await verify_log(store)
        elapsed = time.perf_counter() - started
    finally:
        await store.close()
    if result.ok:
        print(f"ok: {result.checked} events, hash chain intact "
              f"({result.checked / max(elapsed, 1e-9):,.0f} events/s)")
        return 0
    console.print(f"[bold red]broken[/] at position {result.first_bad_position}: {result.reason}")
    print(f"broken at position {result.first_bad_position}")
    return 1


async def _replay(args: argparse.Namespace) -> int:
    paths = data_paths(args)
    store = await SQLiteEventStore.open(paths.events_db)
    runner = await ProjectionRunner.open(store, paths.projections_db, all_projections())
    total = await store.last_position()
    try:
        with Progress(
            TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=Console(stderr=True), transient=True,
        ) as progress:
            bar = progress.add_task("replay", total=total)
            started = time.perf_counter()
            count = await runner.rebuild(progress=lambda n: progress.advance(bar, n))
            elapsed = time.perf_counter() - started
    finally:
        await runner.close()
        await store.close()
    names = ", ".join(runner.projections)
    print(f"replayed {count} events into {names} in {elapsed:.2f} s "
          f"({count / max(elapsed, 1e-9):,.0f} events/s)")
    return 0
