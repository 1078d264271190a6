"""/events (admin): the event log for auditors, read straight from the log.

GET /events pages through envelopes in position order; GET /events/verify walks the
hash chain. Neither touches the projections.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.auth.scopes import ADMIN
from api.deps import port_of
from api.schemas import LARGEST_INTEGER, UtcDatetime
from events.clock import micros
from events.queries import events as queries
from events.store import LogFilter

router = APIRouter(prefix="/events", tags=["events"], dependencies=[ADMIN])

_PAGE_EXAMPLE = {
    "events": [
        {
            "event_id": "01M8NW0BFJEV9NTTMRKCTT8CX8",
            "stream": "task-01m8nw0bfjev9nttmrkctt8cx7",
            "version": 1,
            "position": 9,
            "type": "task.created",
            "schema": 1,
            "data": {"task_id": "task-01m8nw0bfjev9nttmrkctt8cx7", "task_type": "echo"},
            "meta": {"request_id": "req-01m8nw0bfhz0"},
            "ts": "2026-11-30T09:19:04.690782Z",
            "hash": "5d1f…",
        }
    ],
    "next_position": 10,
    "head": 13,
    "has_more": True,
}


@router.get(
    "",
    response_class=Response,
    responses={
        200: {
            "description": "a page of envelopes",
            "content": {"application/json": {"example": _PAGE_EXAMPLE}},
        }
    },
)
async def list_events(
    request: Request,
    stream: Annotated[
        str | None,
        Query(min_length=1, description="a stream, or a prefix ending in '*' (`task-*`)"),
    ] = None,
    types: Annotated[
        list[str] | None,
        Query(
            alias="type",
            description="an event type, or a prefix ending in '*' (`task.*`); "
            "repeat it for several",
        ),
    ] = None,
    from_position: Annotated[
        int, Query(ge=1, le=LARGEST_INTEGER, description="the first position read")
    ] = 1,
    to_time: Annotated[
        UtcDatetime | None, Query(description="ISO 8601: only events committed at or before it")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Envelopes in position order, as the relay publishes them on NATS.

    Page on with `from_position=next_position` while `has_more`. A page holds fewer than
    `limit` events (maybe none) when the filters skip many: one page looks at no more
    than 100,000 positions.
    """
    port = port_of(request)
    where = LogFilter(
        stream=stream,
        types=tuple(types or ()),
        until_ts=micros(to_time) if to_time is not None else None,
    )
    page = await queries.read_page(port.log, from_position, where, limit)
    return Response(queries.page_json(page), media_type="application/json")


@router.get("/verify")
async def verify_events(request: Request) -> dict[str, Any]:
    """Walk the hash chain from position 1: `ok`, how many `events` checked out, and where
    and why it breaks. Runs in a thread of its own; one check at a time."""
    port = port_of(request)
    result = await port.verify_log()
    return {
        "ok": result.ok,
        "events": result.checked,
        "first_bad_position": result.first_bad_position,
        "reason": result.reason,
        "head": max(port.head, result.head),
    }
