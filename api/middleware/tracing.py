"""Every response carries a W3C `traceparent` naming the trace its request started.

The request continues the caller's trace when it sent a valid `traceparent`, else it
starts one. With tracing on the request is the trace's HTTP server span (named by its
route once routing has found it); off, or not sampled, no span is made and the
traceparent is minted (a random span id, flags 00) all the same: the commands the
request sends and the events they cause carry it, and so do the log lines.

It sits inside the request-id middleware (whose `send` adds the header for it) and
outside the guard, so refusals are traced too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events import tracing


class TracingMiddleware:
    def __init__(
        self, app: ASGIApp, routes: Callable[[], Sequence[BaseRoute]] = lambda: ()
    ) -> None:
        self.app = app
        self.routes = routes
        self._paths: dict[int, str] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = None
        for key, value in scope["headers"]:
            if key == b"traceparent":
                sent = tracing.valid(value.decode("latin-1"))
                break
        state = scope.setdefault("state", {})
        if not tracing.enabled():  # the default, kept lean: a minted traceparent, no span
            traceparent = tracing.mint(sent[3:35] if sent is not None else None)
            send = _with_header(state, send, traceparent)
            with tracing.continued(traceparent, request_id=state.get("request_id")):
                await self.app(scope, receive, send)
            return
        method = scope["method"]
        with tracing.span(
            method,
            parent=sent,
            kind=tracing.SERVER,
            attributes={"http.request.method": method, "url.path": scope["path"]},
            request_id=state.get("request_id"),
            mint=True,
        ) as span:
            minted = tracing.current()
            assert minted is not None  # minted when not traced
            send = _with_header(state, send, minted)
            if span is None:
                await self.app(scope, receive, send)
                return

            async def sending(message: Message) -> None:
                if message["type"] == "http.response.start":
                    assert span is not None
                    span.set_attribute("http.response.status_code", message["status"])
                await send(message)

            try:
                await self.app(scope, receive, sending)
            finally:
                route = self._route(scope)
                if route is not None:
                    span.set_attribute("http.route", route)
                    span.update_name(f"{method} {route}")

    def _route(self, scope: Scope) -> str | None:
        """The template of the route that answered (`/api/v1/tasks/{task_id}`)."""
        route = scope.get("route")
        if route is None:
            return None
        if self._paths is None:  # routers are included lazily: their contexts know the path
            self._paths = {}
            for context in iter_route_contexts(self.routes()):
                if context.path_format is not None:
                    self._paths.setdefault(id(context.original_route), context.path_format)
        return self._paths.get(id(route))


def _with_header(state: dict[str, Any], send: Send, traceparent: str) -> Send:
    """`send`, adding the traceparent header: through the request-id middleware's list
    when it is there (no second wrapper), else by wrapping `send`."""
    header = (b"traceparent", traceparent.encode())
    extra = state.get("response_headers")
    if extra is not None:
        extra.append(header)
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), header]
        await send(message)

    return sending
