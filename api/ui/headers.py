"""Security headers on the pages and files the browser loads, and their policies."""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Headers = list[tuple[bytes, bytes]]

CONSOLE_POLICY = (
    "default-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
"""The console's: every script, style, image and connection from the node itself, and
nothing inline (default-src covers script-src and style-src, without 'unsafe-inline')."""

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def docs_policy(page: bytes) -> str:
    """A policy for one of FastAPI's docs pages: scripts from the node and the page's own
    inline scripts by their hashes; inline styles (Swagger UI and ReDoc set them at run
    time), data: images and blob: workers (ReDoc's search). Still nothing from another
    host, so a page that tried would show it in the browser's console."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'none'; "
        "frame-ancestors 'none'"
    ).replace("  ", " ")


def page_headers(policy: str) -> Headers:
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        # Files change with the node's version: ask again (an ETag makes that a 304).
        (b"cache-control", b"no-cache"),
    ]


class WithHeaders:
    """An ASGI app (static files) whose every response carries `headers` too."""

    def __init__(self, app: ASGIApp, headers: Headers) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, sending)
