"""What the routers take from a request: the node's port, the settings, the caller."""

from __future__ import annotations

from fastapi import Request

from api.port import NodePort
from api.settings import EdgeSettings
from events import tracing
from events.envelope import Meta
from events.errors import ProjectionTimeoutError

FRESH_WITHIN = 1.0
"""How long a read of a row still moving waits for the read model to reach the log's
head before it serves the row it has."""

# The port is read off the request rather than injected as a FastAPI dependency: each
# dependency is solved anew per request, and solving them was ~16% of the node's event
# loop on the HTTP path (py-spy --gil).


def port_of(request: Request) -> NodePort:
    port: NodePort = request.app.state.port
    return port


def settings_of(request: Request) -> EdgeSettings:
    settings: EdgeSettings = request.app.state.settings
    return settings


def request_meta(request: Request) -> Meta:
    """What a command records about the request that caused it."""
    request_id = getattr(request.state, "request_id", None)
    principal = getattr(request.state, "principal", None)
    traceparent = tracing.current()
    return Meta(
        request_id=request_id,
        correlation_id=request_id,
        api_key_id=principal.key_id if principal else None,
        trace={tracing.TRACEPARENT: traceparent} if traceparent else {},
    )


async def caught_up(port: NodePort, projection: str, timeout: float = FRESH_WITHIN) -> bool:
    """Whether `projection` was behind the log's head as committed now, and has reached
    it within `timeout`: a row read again then shows what a client that saw the latest
    events on NATS expects. False when it was at the head already, or lags further
    (the caller serves the row it has)."""
    head = port.head
    if port.position(projection) >= head:
        return False
    try:
        await port.wait_for(head, timeout, projection)
    except ProjectionTimeoutError:
        return False
    return True
