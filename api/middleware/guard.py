"""The gate every request passes: retired API versions, API keys, rate limits.

Pure ASGI, before routing, so that a refused request costs no routing, no body
parsing and no handler, and every response (404s included) carries the limit headers.

    /api/v0/...                   410 GONE (v0's sunset date has passed)
    health, docs, OpenAPI,        open; without a key, limited per client address
    the console's files
    anything else                 X-API-Key required: 401 UNAUTHORIZED, and after
                                  repeated failures from one address 429 for a while
    /metrics (Prometheus)         the key in X-API-Key, or `Authorization: Bearer <key>`
                                  (what a stock Prometheus scrape config sends)
    authenticated                 the key's tier and route group limits: 429 RATE_LIMITED
Scopes are checked per route (api/auth/scopes.py): only the route knows what it needs.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth.limits import UNLIMITED_HEADERS, Gcra, RateLimiter, Verdict
from api.errors import error_response
from api.port import Authenticator
from api.settings import EdgeSettings
from events.keys import ANONYMOUS_ADMIN, Refusal
from events.vocabulary import ErrorCode

OPEN_PATHS = frozenset(
    {"/api/v1/health", "/docs", "/docs/oauth2-redirect", "/redoc", "/api/v1/openapi.json", "/"}
)
OPEN_PREFIXES = ("/ui/", "/docs/assets/")
"""The console's files (api/ui/static) and the docs' scripts and styles: no secrets in them,
and a browser loads them before anyone has signed in."""
SCRAPE_PATH = "/metrics"
"""Prometheus' scrape: the one path that also takes a bearer token."""
_V0 = "/api/v0"
_V0_SUNSET = "2025-06-01"

Headers = list[tuple[bytes, bytes]]


class GuardMiddleware:
    def __init__(self, app: ASGIApp, keyring: Authenticator, settings: EdgeSettings) -> None:
        self.app = app
        self.keyring = keyring
        self.enabled = settings.auth
        self.limits = RateLimiter()
        self.failures = Gcra(
            settings.auth_failures_per_minute,
            60.0,
            settings.auth_failures_per_minute,
            "failed authentications",
        )
        self.anonymous = Gcra(
            settings.anonymous_per_minute,
            60.0,
            settings.anonymous_per_minute,
            "unauthenticated requests",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == _V0 or path.startswith(_V0 + "/"):
            await self._refuse(
                scope,
                receive,
                send,
                410,
                ErrorCode.GONE,
                f"API v0 was retired on {_V0_SUNSET}; use /api/v1",
                {"sunset": _V0_SUNSET, "successor": "/api/v1" + path[len(_V0) :]},
                {"Sunset": "Sun, 01 Jun 2025 00:00:00 GMT"},
            )
            return
        state = scope.setdefault("state", {})
        if not self.enabled:
            state["principal"] = ANONYMOUS_ADMIN
            await self.app(scope, receive, send)
            return
        client = scope["client"][0] if scope.get("client") else "unknown"
        raw = _header(scope, b"x-api-key")
        header = "X-API-Key"
        if path == SCRAPE_PATH:
            header = "X-API-Key or Authorization: Bearer"
            scheme, _, token = _header(scope, b"authorization").partition(" ")
            if not raw and scheme.lower() == "bearer":
                raw = token.strip()
        is_open = path in OPEN_PATHS or path.startswith(OPEN_PREFIXES)
        principal = None
        if raw:
            blocked = None if is_open else self.failures.refusal(client)
            if blocked is not None:
                await self._too_many(scope, receive, send, blocked)
                return
            try:
                principal = self.keyring.authenticate(raw, time.time())
            except Refusal as e:
                if not is_open:  # an open endpoint just treats the caller as anonymous
                    counted = self.failures.take(client)
                    await self._refuse(
                        scope,
                        receive,
                        send,
                        401,
                        ErrorCode.UNAUTHORIZED,
                        str(e),
                        {"header": header},
                        _plain(counted.headers()),
                    )
                    return
        if principal is None:
            if is_open:
                await self._anonymous(scope, receive, send, client)
            else:
                await self._refuse(
                    scope,
                    receive,
                    send,
                    401,
                    ErrorCode.UNAUTHORIZED,
                    f"missing API key: send it in the {header} header",
                    {"header": header},
                    _plain(self.failures.peek(client).headers()),
                )
            return
        state["principal"] = principal
        verdict_or_none = self.limits.check(principal, scope["method"], path)
        if verdict_or_none is None:
            headers = UNLIMITED_HEADERS
        elif not verdict_or_none.allowed:
            await self._too_many(scope, receive, send, verdict_or_none)
            return
        else:
            headers = verdict_or_none.headers()
        await self.app(scope, receive, _with_headers(scope, send, headers))

    async def _anonymous(self, scope: Scope, receive: Receive, send: Send, client: str) -> None:
        verdict = self.anonymous.take(client)
        if not verdict.allowed:
            await self._too_many(scope, receive, send, verdict)
            return
        await self.app(scope, receive, _with_headers(scope, send, verdict.headers()))

    async def _too_many(self, scope: Scope, receive: Receive, send: Send, verdict: Verdict) -> None:
        await self._refuse(
            scope,
            receive,
            send,
            429,
            ErrorCode.RATE_LIMITED,
            f"rate limit reached: {verdict.limit} {verdict.what}; retry in {verdict.retry_after} s",
            {"limit": verdict.limit, "what": verdict.what, "retry_after": verdict.retry_after},
            _plain(verdict.headers()),
        )

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        request_id = scope.get("state", {}).get("request_id")
        response = error_response(request_id, status, code, message, details, headers)
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def _plain(headers: Headers) -> dict[str, str]:
    return {k.decode(): v.decode() for k, v in headers}


def _with_headers(scope: Scope, send: Send, extra: Headers) -> Send:
    """`send`, adding `extra` to the response's headers: through the request-id
    middleware's list when it is there (no second wrapper), else by wrapping `send`."""
    carried = scope["state"].get("response_headers")
    if carried is not None:
        carried.extend(extra)
        return send

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", []), *extra]
        await send(message)

    return sending
