"""Every response carries X-Request-ID: the client's, or a new one.

Inner middleware add response headers of their own to `scope["state"]["response_headers"]`
(the guard's rate-limit headers): one wrapper of `send` for all of them, rather than one
per middleware, on every request's path."""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from events.ids import new_prefixed_id

_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Pure ASGI (no BaseHTTPMiddleware): it sits on every request's hot path."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = sent if _ACCEPTABLE.match(sent) else new_prefixed_id("req")
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        extra = state["response_headers"] = [(b"x-request-id", request_id.encode())]

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, send_with_id)
