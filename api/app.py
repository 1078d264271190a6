"""The FastAPI edge: one router per resource under /api/v1, errors in the seed envelope.

Middleware, outermost first: HTTP metrics, request id, trace context, CORS (when
configured), the guard (versions, keys, rate limits), the body size limit; then routing
and the routers. Beside the API: the web console at `/` and the docs at `/docs` and
`/redoc`, every file served by the node (api/ui/).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from api import errors, openapi, ui
from api.idempotency import FirstAnswers
from api.middleware.body_limit import BodyLimitMiddleware
from api.middleware.guard import GuardMiddleware
from api.middleware.http_metrics import HttpMetricsMiddleware
from api.middleware.request_id import RequestIdMiddleware
from api.middleware.tracing import TracingMiddleware
from api.port import NodePort
from api.routes import (
    agents,
    ai,
    apikeys,
    event_stream,
    events,
    health,
    learning,
    metrics,
    prometheus,
    providers,
    system,
    tasks,
    webhooks,
    workflows,
)
from api.settings import EdgeSettings

API_PREFIX = "/api/v1"
_EXPOSED = [
    "X-Request-ID",
    "traceparent",
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "Retry-After",
]


def create_app(port: NodePort, settings: EdgeSettings) -> FastAPI:
    """The API on `port`: the node as routes may see it."""
    app = FastAPI(
        title="AMAS API",
        version=port.version,
        description="Submit tasks to a fleet of agents and watch them happen. "
        "Every endpoint but /health needs an `X-API-Key`.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # api/ui/docs.py serves them, without a CDN
        redoc_url=None,
        # Not FastAPI's own OpenTelemetry: with it on, FastAPI asks OpenTelemetry for its
        # global providers on every request (~3% of the node's loop under load, py-spy
        # --gil). The HTTP span is api/middleware/tracing.py's.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.port = port
    app.state.settings = settings
    app.state.first_answers = FirstAnswers()
    app.state.estimates = {}  # task type -> its estimate; see routes/tasks.py
    app.state.streams = event_stream.Streams()
    for router in (
        health.router,
        system.router,
        tasks.router,
        agents.router,
        apikeys.router,
        event_stream.router,
        events.router,
        providers.router,
        ai.router,
        workflows.router,
        webhooks.router,
        metrics.router,
        learning.router,
    ):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(prometheus.router)  # /metrics, where Prometheus looks by default
    ui.install_docs(app, f"{API_PREFIX}/openapi.json")
    ui.install_console(app)
    errors.install(app)
    # add_middleware wraps what is there: the last added is the outermost.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(GuardMiddleware, keyring=port.keys, settings=settings)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=_EXPOSED,
        )
    app.add_middleware(TracingMiddleware, routes=lambda: app.routes)
    app.add_middleware(RequestIdMiddleware)
    app.add_middleware(HttpMetricsMiddleware, port=port)
    openapi.install(app)
    return app


def close_streams(app: FastAPI) -> None:
    """End the event streams open on `app`: call it as the server starts to stop, else
    the server waits for them (a stream has no end of its own)."""
    streams: event_stream.Streams = app.state.streams
    streams.close()
