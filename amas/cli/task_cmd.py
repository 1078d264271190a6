"""`amas task submit|get|watch` and `amas events sub`: talk to a running node.

Where the node is: --api / --nats, else AMAS_API_URL / AMAS_NATS_URL, else what the
node wrote in its data folder (node.json), else the defaults.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any

import httpx
import nats
from nats.aio.msg import Msg
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from amas.cli.common import add_data_dir, data_paths
from amas.runtime.settings import setting
from events.envelope import decode_event
from events.vocabulary import FINISHED, Priority, TaskStatus

DEFAULT_API = "http://127.0.0.1:8000/api/v1"
DEFAULT_NATS = "nats://127.0.0.1:4222"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("task", help="submit and follow tasks on a running node")
    sub = group.add_subparsers(dest="task_command", required=True, metavar="ACTION")

    submit = sub.add_parser("submit", help="submit a task; prints its id")
    submit.add_argument("task_type", help="e.g. echo")
    submit.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a parameter (VALUE is parsed as JSON when it can be)",
    )
    submit.add_argument(
        "--priority", default=Priority.NORMAL.value, choices=[p.value for p in Priority]
    )
    submit.add_argument("--watch", action="store_true", help="then follow it to the end")
    add_endpoints(submit)
    submit.set_defaults(run=lambda args: asyncio.run(_submit(args)))

    get = sub.add_parser("get", help="print a task's status (JSON)")
    get.add_argument("task_id")
    add_endpoints(get)
    get.set_defaults(run=lambda args: asyncio.run(_get(args)))

    watch = sub.add_parser("watch", help="a live progress bar, fed by NATS events")
    watch.add_argument("task_id")
    add_endpoints(watch)
    watch.set_defaults(run=lambda args: asyncio.run(_watch(args)))


def register_events_sub(events_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = events_sub.add_parser("sub", help="print events from NATS as they happen (like nats sub)")
    sub.add_argument("subject", help="e.g. 'task.*' or '>'")
    sub.add_argument("--count", type=int, default=0, help="stop after N messages")
    add_endpoints(sub)
    sub.set_defaults(run=lambda args: asyncio.run(_sub(args)))


def add_endpoints(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api", default=None, help=f"API base URL (default {DEFAULT_API})")
    parser.add_argument("--nats", default=None, help=f"NATS URL (default {DEFAULT_NATS})")
    add_data_dir(parser)


def _written_by_node(args: argparse.Namespace) -> dict[str, Any]:
    path = data_paths(args).node_file
    try:
        found: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return found


def api_url(args: argparse.Namespace) -> str:
    return str(
        args.api or setting("AMAS_API_URL") or _written_by_node(args).get("api") or DEFAULT_API
    )


def nats_url(args: argparse.Namespace) -> str:
    return str(
        args.nats or setting("AMAS_NATS_URL") or _written_by_node(args).get("nats") or DEFAULT_NATS
    )


def api_headers() -> dict[str, str]:
    key = setting("AMAS_API_KEY")
    return {"X-API-Key": key} if key else {}


def _value(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


async def _submit(args: argparse.Namespace) -> int:
    parameters = {}
    for pair in args.param:
        key, sep, value = pair.partition("=")
        if not sep:
            print(f"amas task submit: -p wants KEY=VALUE, not {pair!r}", file=sys.stderr)
            return 2
        parameters[key] = _value(value)
    body = {"task_type": args.task_type, "parameters": parameters, "priority": args.priority}
    async with httpx.AsyncClient(base_url=api_url(args), headers=api_headers()) as client:
        response = await client.post("/tasks", json=body)
    if response.status_code >= 400:
        print(json.dumps(response.json(), indent=2), file=sys.stderr)
        return 1
    task_id = response.json()["task_id"]
    print(task_id)
    if args.watch:
        args.task_id = task_id
        return await _watch(args)
    return 0


async def _get(args: argparse.Namespace) -> int:
    async with httpx.AsyncClient(base_url=api_url(args), headers=api_headers()) as client:
        response = await client.get(f"/tasks/{args.task_id}")
    print(json.dumps(response.json(), indent=2))
    return 0 if response.status_code < 400 else 1


async def _watch(args: argparse.Namespace) -> int:
    nc = await nats.connect(nats_url(args))
    updates: asyncio.Queue[tuple[str, int, dict[str, Any]]] = asyncio.Queue()

    async def on_event(msg: Msg) -> None:
        event = decode_event(msg.data)
        if getattr(event.data, "task_id", None) == args.task_id:
            data = event.data
            progress = 100 if event.type == "task.completed" else getattr(data, "progress", -1)
            await updates.put((event.type, progress, {"reason": getattr(data, "reason", "")}))

    await nc.subscribe("task.*", cb=on_event)
    try:
        # Subscribed first, then read the state: no event can fall between the two.
        async with httpx.AsyncClient(base_url=api_url(args), headers=api_headers()) as client:
            response = await client.get(f"/tasks/{args.task_id}")
        if response.status_code >= 400:
            print(json.dumps(response.json(), indent=2), file=sys.stderr)
            return 1
        task = response.json()
        status, percent = task["status"], task["progress"]
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
        ) as bar:
            line = bar.add_task(f"{args.task_id} {status}", total=100, completed=percent)
            while status not in FINISHED:
                kind, progress, extra = await updates.get()
                status = {
                    "task.created": TaskStatus.QUEUED,
                    "task.started": TaskStatus.IN_PROGRESS,
                    "task.progress": TaskStatus.IN_PROGRESS,
                    "task.requeued": TaskStatus.QUEUED,
                }.get(kind, kind.removeprefix("task."))
                if progress >= 0:
                    percent = progress
                if kind == "task.started":
                    percent = 0
                label = f"{args.task_id} {status}"
                if extra.get("reason") and status == TaskStatus.FAILED:
                    label += f" ({extra['reason']})"
                bar.update(line, description=label, completed=percent)
        print(status)
        return 0 if status == TaskStatus.COMPLETED else 1
    finally:
        await nc.close()


async def _sub(args: argparse.Namespace) -> int:
    nc = await nats.connect(nats_url(args))
    done = asyncio.Event()
    seen = 0

    async def on_message(msg: Msg) -> None:
        nonlocal seen
        seen += 1
        print(f"[#{seen}] {msg.subject}  {msg.data.decode(errors='replace')}", flush=True)
        if args.count and seen >= args.count:
            done.set()

    await nc.subscribe(args.subject, cb=on_message)
    print(f"listening on {args.subject!r} at {nats_url(args)}", file=sys.stderr, flush=True)
    try:
        await done.wait()
    finally:
        await nc.close()
    return 0
