"""`amas api-key generate|list|revoke|rotate`: manage API keys.

With a node running on the data folder, the commands go to it over NATS (it is the
log's only writer) and count at once. With none, they write to the log directly and
the node picks them up when it starts. The raw key is printed once, here, and is
never written anywhere: only its hash leaves this process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from typing import Any

import aiosqlite
import nats

from actors.apikeys import KeyCommand, execute
from amas.cli.common import add_data_dir, data_paths
from amas.runtime.settings import DataPaths
from events.commands import (
    CREATE_API_KEY,
    REVOKE_API_KEY,
    ROTATE_API_KEY,
    Reply,
    RevokeApiKey,
    RotateApiKey,
    command_encoder,
    create_command,
    reply_decoder,
)
from events.envelope import Meta
from events.keys import SCOPES, TIERS, expiry, generate
from events.projections import ProjectionRunner, all_projections
from events.queries.apikeys import list_keys, view
from events.store import SQLiteEventStore

_SUBJECTS = {
    "CreateApiKey": CREATE_API_KEY,
    "RotateApiKey": ROTATE_API_KEY,
    "RevokeApiKey": REVOKE_API_KEY,
}
_ACTOR = Meta(actor="amas api-key")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    group = commands.add_parser("api-key", help="create, list, rotate and revoke API keys")
    sub = group.add_subparsers(dest="api_key_command", required=True, metavar="ACTION")

    make = sub.add_parser("generate", help="make a key; prints it once")
    make.add_argument("--name", required=True, help='what the key is for, e.g. "My App"')
    make.add_argument(
        "--scope",
        action="append",
        choices=SCOPES,
        dest="scopes",
        help="read, write or admin; repeat for more (default: read and write)",
    )
    make.add_argument(
        "--tier",
        choices=list(TIERS),
        default="free",
        help="usage tier: its rate and concurrency limits (default free)",
    )
    make.add_argument("--owner", default=None, help="who the key belongs to")
    make.add_argument(
        "--expires", default=None, help="30d, 12h, 90m or a date/time (UTC); default: never"
    )
    add_data_dir(make)
    make.set_defaults(run=lambda args: asyncio.run(_generate(args)))

    listing = sub.add_parser("list", help="the keys (never their secrets)")
    listing.add_argument("--json", action="store_true", help="print JSON")
    add_data_dir(listing)
    listing.set_defaults(run=lambda args: asyncio.run(_list(args)))

    revoke = sub.add_parser("revoke", help="stop a key working, at once and for good")
    revoke.add_argument("key_id")
    add_data_dir(revoke)
    revoke.set_defaults(run=lambda args: asyncio.run(_revoke(args)))

    rotate = sub.add_parser("rotate", help="give a key a new secret; the old one stops working")
    rotate.add_argument("key_id")
    rotate.add_argument("--expires", default=None, help="a new expiry (default: keep it)")
    add_data_dir(rotate)
    rotate.set_defaults(run=lambda args: asyncio.run(_rotate(args)))


async def _generate(args: argparse.Namespace) -> int:
    try:
        expires_at = expiry(args.expires)
    except ValueError as e:
        return _fail(str(e))
    key, command = create_command(
        args.name, args.scopes or ["read", "write"], args.tier, args.owner, expires_at, _ACTOR
    )
    reply = await _send(data_paths(args), command)
    if not reply.ok:
        return _fail(reply.message or "refused")
    print(key.raw)
    print(
        f"key id {key.key_id}, scopes {', '.join(command.scopes)}, tier {args.tier}"
        f"{', expires ' + expires_at if expires_at else ''}. Shown once: store it now.",
        file=sys.stderr,
    )
    return 0


async def _rotate(args: argparse.Namespace) -> int:
    try:
        expires_at = expiry(args.expires)
    except ValueError as e:
        return _fail(str(e))
    key = generate(args.key_id)
    reply = await _send(
        data_paths(args),
        RotateApiKey(
            key_id=args.key_id,
            prefix=key.prefix,
            secret_hash=key.secret_hash,
            expires_at=expires_at,
            meta=_ACTOR,
        ),
    )
    if not reply.ok:
        return _fail(reply.message or "refused")
    print(key.raw)
    print(
        f"key {args.key_id} has a new secret; the old one no longer works. Shown once.",
        file=sys.stderr,
    )
    return 0


async def _revoke(args: argparse.Namespace) -> int:
    reply = await _send(data_paths(args), RevokeApiKey(key_id=args.key_id, meta=_ACTOR))
    if not reply.ok:
        return _fail(reply.message or "refused")
    print(f"revoked {args.key_id}")
    return 0


async def _list(args: argparse.Namespace) -> int:
    paths = data_paths(args)
    if _running_node(paths) is None:
        await _catch_up(paths)  # keys made offline are only in the log so far
    keys = [view(row) for row in await _read_keys(paths)]
    if args.json:
        print(json.dumps(keys, indent=2))
        return 0
    rows = [("KEY ID", "PREFIX", "SCOPES", "TIER", "STATUS", "EXPIRES", "NAME")] + [
        (
            k["key_id"],
            k["prefix"] + "_…",
            ",".join(k["scopes"]),
            k["tier"],
            k["status"],
            k["expires_at"] or "never",
            k["name"],
        )
        for k in keys
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print("  ".join([*(cell.ljust(w) for cell, w in zip(row, widths, strict=False)), row[-1]]))
    return 0


# -- transport ----------------------------------------------------------------------------


def _running_node(paths: DataPaths) -> dict[str, Any] | None:
    """What `amas serve` wrote in node.json, if that process is alive."""
    try:
        found: dict[str, Any] = json.loads(paths.node_file.read_text())
        os.kill(int(found["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return found


async def _send(paths: DataPaths, command: KeyCommand) -> Reply:
    node = _running_node(paths)
    if node is not None:
        nc = await nats.connect(node["nats"], connect_timeout=5, max_reconnect_attempts=1)
        try:
            msg = await nc.request(
                _SUBJECTS[type(command).__name__], command_encoder.encode(command), timeout=10
            )
        finally:
            await nc.close()
        return reply_decoder.decode(msg.data)
    if not paths.root.exists():
        paths.ensure()
    store = await SQLiteEventStore.open(paths.events_db)
    try:
        return await execute(store, command)
    finally:
        await store.close()


async def _catch_up(paths: DataPaths) -> None:
    if not paths.events_db.exists():
        return
    store = await SQLiteEventStore.open(paths.events_db)
    runner = await ProjectionRunner.open(store, paths.projections_db, all_projections())
    try:
        runner.start()
        await runner.wait_for(store.head, timeout=600)
    finally:
        await runner.close()
        await store.close()


async def _read_keys(paths: DataPaths) -> list[dict[str, Any]]:

    if not paths.projections_db.exists():
        return []
    async with aiosqlite.connect(f"file:{paths.projections_db}?mode=ro", uri=True) as db:
        return await list_keys(db)


def _fail(message: str) -> int:
    print(f"amas api-key: {message}", file=sys.stderr)
    return 1
