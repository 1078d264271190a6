"""GET /metrics (at the root, beside /api/v1): the node for Prometheus to scrape.

The text exposition format (OpenMetrics when the scraper asks for it), from the node's
own registry: HTTP requests as the edge counted them, and collectors that read the read
models and the runtime at scrape time, in a worker thread (they query SQLite).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse, Response
from prometheus_client.exposition import choose_encoder

from api.auth.scopes import READ
from api.deps import port_of
from api.middleware.guard import SCRAPE_PATH

router = APIRouter(tags=["metrics"])


@router.get(
    SCRAPE_PATH,
    dependencies=[READ],
    response_class=PlainTextResponse,
    responses={
        200: {
            "description": "Prometheus' text exposition format (version 0.0.4), or "
            "OpenMetrics 1.0 when the Accept header asks for it.",
            "content": {
                "text/plain": {"schema": {"type": "string"}},
                "application/openmetrics-text": {"schema": {"type": "string"}},
            },
        }
    },
)
async def scrape_metrics(request: Request) -> Response:
    """The key goes in `X-API-Key` or, as Prometheus sends it, `Authorization: Bearer`."""
    encode, media_type = choose_encoder(request.headers.get("accept", ""))
    body = await asyncio.to_thread(encode, port_of(request).metrics_registry)
    return Response(body, media_type=media_type)
