"""Dependencies shared by the routers."""

from __future__ import annotations

import aiosqlite
from fastapi import Request

from amas.node import Node
from events.envelope import Meta

# The node and its projections reader are read off the request rather than injected as
# FastAPI dependencies: each dependency is solved anew per request, and solving them was
# ~16% of the node's event loop on the HTTP path (py-spy --gil).


def node_of(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


def reader_of(request: Request) -> aiosqlite.Connection:
    """The read-only connection to the projections database."""
    reader: aiosqlite.Connection = request.app.state.node.reader
    return reader


def request_meta(request: Request) -> Meta:
    """What a command records about the request that caused it."""
    request_id = getattr(request.state, "request_id", None)
    principal = getattr(request.state, "principal", None)
    return Meta(
        request_id=request_id,
        correlation_id=request_id,
        api_key_id=principal.key_id if principal else None,
    )
