"""/events/stream: the event log as server-sent events, followed live.

The console's views update from this stream (never by polling), and any client can
follow it with `curl -N -H "X-API-Key: ..."`. It follows the log itself through the
port (not NATS): every event has its position as the SSE `id`, so a client that
reconnects with `Last-Event-ID` misses nothing and sees nothing twice.

    event: ready        first: who the key is (scopes, tier) and the position it starts after
    id/event/data       one per event: id = position, event = type, data = the envelope
    : keep-alive        a comment every HEARTBEAT seconds while nothing happens

What a key sees: an admin key, every event as NATS subscribers get it (like GET /events);
a read key, the events of what it may already read through GETs (tasks, agents,
workflows, providers' state, alerts), without `meta` and without the fields naming the
key or request behind them. Keys and webhooks belong to their owners: their events are
for admins only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated

import msgspec
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response, StreamingResponse

from api.auth.scopes import READ
from api.deps import port_of
from api.schemas import LARGEST_INTEGER
from events.envelope import Event, Meta, encode_event
from events.keys import Principal
from events.store import EventStore

router = APIRouter(prefix="/events", tags=["events"])

HEARTBEAT = 15.0
"""Seconds between keep-alive comments: proxies keep the connection, and a client that
went away is noticed on the next write."""
RETRY_MS = 2000
"""How long an EventSource waits before it reconnects."""

READ_TYPES = (
    "task.*",
    "agent.*",
    "workflow.*",
    "provider.state",
    "provider.configured",
    "system.alert",
)
"""The event types a key without `admin` is streamed."""
READ_BACKLOG = 10_000
"""How far back a key without admin may start (a reconnect's gap, a view's recent past):
reading the whole log is an audit, for admins. Further back, the stream starts here, and
`ready.position` says so."""
_HIDDEN_FIELDS = ("api_key_id", "request_hash")
"""Fields of an event's data that say which key or request caused it: admin only."""


class Streams:
    """The streams open on one app. `close()` ends them all: uvicorn waits for every
    open response before it stops, and a stream would otherwise never end."""

    def __init__(self) -> None:
        self._closed = asyncio.Event()

    def close(self) -> None:
        self._closed.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    async def wait_closed(self) -> None:
        await self._closed.wait()


def matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """Whether a name matches one of `patterns` (exact, or a prefix ending in '*');
    no patterns match everything."""
    if not patterns:
        return lambda _: True
    exact = frozenset(p for p in patterns if not p.endswith("*"))
    prefixes = tuple(p[:-1] for p in patterns if p.endswith("*"))
    return lambda name: name in exact or name.startswith(prefixes)


_SSE_EXAMPLE = (
    'event: ready\ndata: {"position":12,"key_id":"zpmfmzbyzpggu2zn","scopes":["read"],...}\n\n'
    "id: 13\nevent: task.created\n"
    'data: {"event_id":"01M8NW0BFJEV9NTTMRKCTT8CX8","position":13,"type":"task.created",...}\n\n'
)


@router.get(
    "/stream",
    dependencies=[READ],
    response_class=Response,
    responses={
        200: {
            "description": "server-sent events: `ready`, then one per event (id = position)",
            "content": {
                "text/event-stream": {"schema": {"type": "string"}, "example": _SSE_EXAMPLE}
            },
        }
    },
)
async def stream_events(
    request: Request,
    types: Annotated[
        list[str] | None,
        Query(
            alias="type",
            description="an event type, or a prefix ending in '*' (`task.*`); repeat it "
            "for several",
        ),
    ] = None,
    stream: Annotated[
        str | None,
        Query(min_length=1, description="a stream, or a prefix ending in '*' (`task-*`)"),
    ] = None,
    from_position: Annotated[
        int | None,
        Query(
            ge=1,
            le=LARGEST_INTEGER,
            description="the first position sent (default: the next event committed)",
        ),
    ] = None,
    last_event_id: Annotated[
        int | None,
        Header(
            ge=0,
            le=LARGEST_INTEGER,
            description="a reconnect: go on after this position (wins over from_position)",
        ),
    ] = None,
) -> StreamingResponse:
    """Follow the event log: what is committed from `from_position` on, as it is
    committed, until the client goes away. Filters as GET /events; a key without the
    admin scope sees only the types of what it may read (tasks, agents, workflows,
    providers' state, alerts), without meta, from at most 10,000 positions back (the
    `ready` event's `position` says where the stream starts after)."""
    port = port_of(request)
    principal: Principal = request.state.principal
    admin = principal.allows("admin")
    wanted = matcher(tuple(types or ()))
    allowed = matcher(()) if admin else matcher(READ_TYPES)
    in_stream = matcher((stream,) if stream else ())

    def shown(event: Event) -> bool:
        return allowed(event.type) and wanted(event.type) and in_stream(event.stream)

    if last_event_id is not None:
        start = last_event_id + 1
    else:
        start = from_position if from_position is not None else port.head + 1
    if not admin:
        start = max(start, port.head + 1 - READ_BACKLOG)
    ready = {
        "position": start - 1,
        "head": port.head,
        "key_id": principal.key_id,
        "name": principal.name,
        "scopes": sorted(principal.scopes),
        "tier": principal.tier.name,
    }
    hello = f"retry: {RETRY_MS}\nevent: ready\ndata: {json.dumps(ready)}\n\n".encode()
    encode = encode_event if admin else _public
    return StreamingResponse(
        _frames(hello, port.log, start, shown, encode, request.app.state.streams),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _public(event: Event) -> bytes:
    """The envelope a key without admin gets: no meta, no field naming a key or request."""
    data = msgspec.to_builtins(event.data)
    if isinstance(data, dict):
        for field in _HIDDEN_FIELDS:
            data.pop(field, None)
    return encode_event(msgspec.structs.replace(event, data=data, meta=Meta()))


def _frame(event: Event, encode: Callable[[Event], bytes]) -> bytes:
    return b"id: %d\nevent: %s\ndata: %s\n\n" % (event.position, event.type.encode(), encode(event))


async def _frames(
    hello: bytes,
    log: EventStore,
    start: int,
    shown: Callable[[Event], bool],
    encode: Callable[[Event], bytes],
    streams: Streams,
) -> AsyncIterator[bytes]:
    """`hello`, then the frames of the events `shown` from `start` on; a keep-alive
    comment when the log is quiet; ends when the streams close or the log does."""
    yield hello
    batches: asyncio.Queue[list[Event]] = asyncio.Queue(maxsize=1)  # the client sets the pace
    pump = asyncio.create_task(_pump(log, start, batches))
    closing = asyncio.create_task(streams.wait_closed())
    getting: asyncio.Future[list[Event]] | None = None
    try:
        while True:
            getting = asyncio.ensure_future(batches.get())
            done, _ = await asyncio.wait(
                {getting, closing, pump}, timeout=HEARTBEAT, return_when=asyncio.FIRST_COMPLETED
            )
            if getting in done:
                chunk = b"".join(_frame(e, encode) for e in getting.result() if shown(e))
                if chunk:
                    yield chunk
                continue
            getting.cancel()  # a batch it would take stays in the queue
            if done:  # closing, or the log ended
                return
            yield b": keep-alive\n\n"
    finally:
        for task in (getting, pump, closing):
            if task is not None:
                task.cancel()
        if pump.done() and not pump.cancelled():
            pump.exception()  # retrieved: a log that failed just ends the stream


async def _pump(log: EventStore, start: int, batches: asyncio.Queue[list[Event]]) -> None:
    async for batch in log.subscribe_batches(start):
        await batches.put(batch)
