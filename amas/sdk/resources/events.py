"""client.events: the event log (admin), page by page, and its hash chain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from amas.sdk._call import Req
from amas.sdk._endpoint import M, Resource, endpoint, listing
from amas.sdk._paging import Page, Paged, position_page
from amas.sdk._parse import as_model
from amas.sdk.models.events import Event, Verification

_page = position_page("events", Event.from_dict)


def log_request(
    position: int,
    *,
    stream: str | None = None,
    types: Sequence[str] | None = None,
    to_time: datetime | str | None = None,
    limit: int = 100,
) -> Req[Page[Event]]:
    """GET /events from `position`: also how a task's event stream reads it over HTTP."""
    at = to_time.isoformat() if isinstance(to_time, datetime) else to_time
    params: dict[str, Any] = {"stream": stream, "type": list(types or []), "to_time": at}
    return Req(
        lambda r: _page(r, position), params={**params, "from_position": position, "limit": limit}
    )


class Events(Resource[M]):
    prefix = "/events"

    @listing("GET", "")
    def list(
        self,
        *,
        stream: str | None = None,
        types: Sequence[str] | None = None,
        from_position: int = 1,
        to_time: datetime | str | None = None,
        limit: int = 100,
    ) -> Paged[Event]:
        """Envelopes in position order. `stream` and each of `types` are exact or a
        prefix ending in `*` (`task-*`, `task.*`); `limit` is the page size (up to 1000)."""
        return Paged(
            lambda at: log_request(at, stream=stream, types=types, to_time=to_time, limit=limit),
            from_position,
        )

    @endpoint("GET", "/verify")
    def verify(self) -> Req[Verification]:
        """Walk the hash chain from position 1: `ok`, and where and why it breaks."""
        return Req(as_model(Verification), timeout=600.0)
