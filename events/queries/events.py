"""Audit reads on the event log itself (not on projections): pages of envelopes."""

from __future__ import annotations

import msgspec

from events.store import EventStore, LogFilter

SCAN_WINDOW = 100_000
"""Positions one page looks at, at most: a filter that matches little answers with fewer
events (maybe none) and a next_position further on, rather than scanning 1M rows."""


class Page(msgspec.Struct, frozen=True, kw_only=True):
    events: list[bytes]
    next_position: int
    head: int
    has_more: bool


async def read_page(store: EventStore, from_position: int, where: LogFilter, limit: int) -> Page:
    head = store.head
    end = min(from_position + SCAN_WINDOW, head + 1)
    found = (
        await store.read_envelopes(from_position, end, where, limit)
        if from_position <= head
        else []
    )
    # Full page: go on after its last event; otherwise this window has been read through.
    next_position = found[-1][0] + 1 if len(found) == limit else max(end, from_position)
    has_more = next_position <= head
    if has_more and where.until_ts is not None:
        # Commit times never go backwards along the log (the committer keeps them
        # monotonic), so the first event after to_time ends the reading.
        [row] = await store.read_rows(next_position, 1)
        has_more = row[6] <= where.until_ts
    return Page(
        events=[envelope for _, envelope in found],
        next_position=next_position,
        head=head,
        has_more=has_more,
    )


def page_json(page: Page) -> bytes:
    """The answer, with the envelopes spliced in as the store made them (no re-encoding)."""
    return b"".join(
        (
            b'{"events":[',
            b",".join(page.events),
            b'],"next_position":',
            str(page.next_position).encode(),
            b',"head":',
            str(page.head).encode(),
            b',"has_more":',
            b"true" if page.has_more else b"false",
            b"}",
        )
    )
