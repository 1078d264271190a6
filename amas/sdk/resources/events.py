"""client.events: the event log (admin), page by page, and its hash chain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from amas.sdk._call import ENDED, TIMED_OUT, Call, Emit, Next, Open, Req, Stream
from amas.sdk._endpoint import M, Resource, endpoint, listing, streaming
from amas.sdk._paging import Page, Paged, position_page
from amas.sdk._parse import as_model
from amas.sdk._sources import SseSpec
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

    @streaming("GET", "/stream")
    def follow(
        self,
        *,
        stream: str | None = None,
        types: Sequence[str] | None = None,
        from_position: int | None = None,
        idle: float = 60.0,
    ) -> Stream[Event]:
        """The log followed live (server-sent events), from `from_position` (default:
        now) on, filtered like `list`; it ends when the node closes it. A key without
        `admin` sees task, agent, workflow, provider state and alert events only, without
        their `meta`. `idle`: seconds to wait for the next event (keep-alives excepted)
        before asking again."""
        params: dict[str, Any] = {"stream": stream, "type": list(types or [])}
        if from_position is not None:
            params["from_position"] = from_position
        call = Call.of(Events.follow.operation, Req(lambda r: r, params=params))
        handle = yield Open(SseSpec(call))
        while (event := (yield Next(handle, idle))) is not ENDED:
            if event is TIMED_OUT or event.event == "ready" or not isinstance(event.data, dict):
                continue
            yield Emit(Event.from_dict(event.data))

    @endpoint("GET", "/verify")
    def verify(self) -> Req[Verification]:
        """Walk the hash chain from position 1: `ok`, and where and why it breaks."""
        return Req(as_model(Verification), timeout=600.0)
