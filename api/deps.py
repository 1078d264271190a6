"""Dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

import aiosqlite
from fastapi import Depends, Request

from amas.node import Node
from events.envelope import Meta


# async: FastAPI runs a plain `def` dependency in a worker thread, a hop per request.
async def get_node(request: Request) -> Node:
    node: Node = request.app.state.node
    return node


async def get_reader(request: Request) -> aiosqlite.Connection:
    reader: aiosqlite.Connection = request.app.state.node.reader
    return reader


NodeDep = Annotated[Node, Depends(get_node)]
ReaderDep = Annotated[aiosqlite.Connection, Depends(get_reader)]


def request_meta(request: Request) -> Meta:
    """What a command records about the request that caused it."""
    request_id = getattr(request.state, "request_id", None)
    principal = getattr(request.state, "principal", None)
    return Meta(request_id=request_id, correlation_id=request_id,
                api_key_id=principal.key_id if principal else None)
