"""What the routers take from a request: the node's port, the settings, the caller."""

from __future__ import annotations

from fastapi import Request

from api.port import NodePort
from api.settings import EdgeSettings
from events import tracing
from events.envelope import Meta

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
