"""Counts every request and times it, per route template, method and status.

The route is the template a request matched (`/api/v1/tasks/{task_id}`), never the raw
path, so a scrape has one series per route rather than one per task id. Requests the
guard refused before routing are matched against the templates here; a path no route
has is `unmatched`. Pure ASGI and outermost, so refusals (401, 429) are counted too.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from api.port import NodePort

UNMATCHED = "unmatched"
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_LABELS = ("method", "route", "status")


class HttpMetrics:
    """The HTTP instruments, made once per registry (a node's)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "amas_http_requests", "HTTP requests answered.", _LABELS, registry=registry
        )
        self.latency = Histogram(
            "amas_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer.",
            _LABELS,
            registry=registry,
            buckets=_BUCKETS,
        )
        self._children: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def record(self, method: str, route: str, status: int, seconds: float) -> None:
        key = (method, route, str(status))
        children = self._children.get(key)
        if children is None:  # .labels() looks its child up under a lock each time
            children = self._children[key] = (
                self.requests.labels(*key),
                self.latency.labels(*key),
            )
        children[0].inc()
        children[1].observe(seconds)


class _Templates:
    """Route templates of an app: by route object, and matched against a path."""

    def __init__(self, app: Any) -> None:
        self.by_route: dict[int, str] = {}
        self.patterns: list[tuple[re.Pattern[str], str]] = []
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            template = context.path_format or getattr(route, "path_format", None)
            if template is None:
                continue
            self.by_route[id(route)] = template
            self.patterns.append((compile_path(template)[0], template))

    def of(self, scope: Scope) -> str:
        route = scope.get("route")
        if route is not None:
            found = self.by_route.get(id(route)) or getattr(route, "path_format", None)
            if found:
                return str(found)
        path = scope["path"]
        for pattern, template in self.patterns:
            if pattern.match(path):
                return template
        return UNMATCHED


class HttpMetricsMiddleware:
    """Records into the node's HttpMetrics (`port.http_metrics`), read at the first
    request: a document-only port (api/openapi.py's tests) has none."""

    def __init__(self, app: ASGIApp, port: NodePort) -> None:
        self.app = app
        self.port = port
        self._metrics: HttpMetrics | None = None
        self._templates: _Templates | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        except Exception:  # answered 500 by Starlette's outermost handler
            self._record(scope, status, started)
            raise
        self._record(scope, status, started)

    def _record(self, scope: Scope, status: int, started: float) -> None:
        if self._templates is None or self._metrics is None:
            self._templates = _Templates(scope["app"])
            self._metrics = self.port.http_metrics
        route = self._templates.of(scope)
        self._metrics.record(scope["method"], route, status, time.perf_counter() - started)
