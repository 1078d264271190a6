"""The seed's error envelope, and the one place errors become HTTP responses.

ApiError(code, message, status, details)    raised by handlers and dependencies
RequestValidationError                       FastAPI: 422 VALIDATION_ERROR, or
                                             400 INVALID_REQUEST for malformed JSON
BusUnavailable / ProjectionTimeoutError      503 SERVICE_UNAVAILABLE
StarletteHTTPException                       its status, in the envelope
anything else                                500 INTERNAL_ERROR (logged)
"""

from __future__ import annotations

import json
import logging
import math
import reprlib
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from events.clock import now_iso_seconds
from events.commands import BusUnavailable, Reply
from events.errors import ProjectionTimeoutError
from events.vocabulary import ErrorCode

log = logging.getLogger(__name__)

STATUS_BY_CODE: dict[ErrorCode, int] = {
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.INVALID_PARAMETER: 400,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.GONE: 410,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.INTERNAL_ERROR: 500,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.AI_PROVIDER_UNAVAILABLE: 503,
    ErrorCode.WORKFLOW_NOT_FOUND: 404,
    ErrorCode.INVALID_CONFIGURATION: 400,
    ErrorCode.WORKFLOW_TRIGGER_FAILED: 503,
}
_CODE_BY_STATUS = {status: code for code, status in reversed(STATUS_BY_CODE.items())}
"""A status's code; where codes share a status (400), the first listed."""
UNMAPPED_CODE = "HTTP_ERROR"
"""The code of an HTTP error whose status has none of its own."""


class ApiError(Exception):
    """Root of the edge's errors: a refusal in the seed's envelope."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        details: Any = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details if details is not None else {}
        self.status = status or STATUS_BY_CODE.get(code, 400)
        self.headers = headers


def check(reply: Reply) -> Reply:
    """`reply` if the command was accepted; else its refusal as an ApiError."""
    if reply.ok:
        return reply
    # A concurrent-task refusal: a slot frees when one of the key's tasks ends.
    headers = {"Retry-After": "1"} if reply.code == ErrorCode.RATE_LIMITED else None
    retry_after = (reply.details or {}).get("retry_after")
    if reply.code == ErrorCode.AI_PROVIDER_UNAVAILABLE and retry_after is not None:
        headers = {"Retry-After": str(max(1, math.ceil(float(retry_after))))}
    raise ApiError(
        reply.code or ErrorCode.INTERNAL_ERROR,
        reply.message or "rejected",
        reply.details or {},
        headers=headers,
    )


def envelope(
    request: Request,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    return error_response(
        getattr(request.state, "request_id", None), status, code, message, details, headers
    )


def error_response(
    request_id: str | None,
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The envelope as a response; also an ASGI app, for middleware that answers early."""
    body = {
        "error": {
            "code": code,
            "message": message,
            "details": details if details is not None else {},
            "request_id": request_id,
            "timestamp": now_iso_seconds(),
        }
    }
    headers = dict(headers or {})
    if request_id:
        headers["X-Request-ID"] = request_id
    return EnvelopeResponse(body, status_code=status, headers=headers)


class EnvelopeResponse(JSONResponse):
    """JSON in ASCII: what a client sent, echoed in an error, may hold a lone surrogate
    (JSON's \\u escapes can spell one), which has no UTF-8 but does have an escape."""

    def render(self, content: Any) -> bytes:
        return json.dumps(
            content, ensure_ascii=True, allow_nan=False, separators=(",", ":")
        ).encode()


_ECHO_DEPTH = 8


def _plain(value: Any, depth: int = 0) -> Any:
    """Echo what the client sent in a form JSON can carry, nested at most _ECHO_DEPTH deep
    (a body may nest as deep as the parser allows; the renderer's recursion may not)."""
    if isinstance(value, bytes):  # a raw body
        return value[:200].decode("utf-8", errors="replace")
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN or infinity; Python's parser reads them
    if value is None or isinstance(value, str | int | float):
        return value
    if depth >= _ECHO_DEPTH:
        return reprlib.repr(value)
    if isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v, depth + 1) for v in value]
    try:
        return jsonable_encoder(value)
    except (TypeError, ValueError):
        return repr(value)[:200]


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
        return envelope(request, exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            first = next(e for e in errors if e.get("type") == "json_invalid")
            return envelope(
                request,
                400,
                ErrorCode.INVALID_REQUEST,
                "the request body is not valid JSON",
                {"error": first.get("ctx", {}).get("error", first.get("msg"))},
            )
        problems = [
            {
                "parameter": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
                "message": e["msg"],
                "provided": _plain(e.get("input")),
            }
            for e in errors
        ]
        first = problems[0]
        return envelope(
            request,
            422,
            ErrorCode.VALIDATION_ERROR,
            f"{first['parameter']}: {first['message']}",
            {"errors": problems},
        )

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODE_BY_STATUS.get(exc.status_code, UNMAPPED_CODE)
        message = exc.detail if isinstance(exc.detail, str) else code
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        return envelope(request, exc.status_code, code, message)

    @app.exception_handler(BusUnavailable)
    async def on_bus(request: Request, exc: BusUnavailable) -> JSONResponse:
        return envelope(
            request,
            503,
            ErrorCode.SERVICE_UNAVAILABLE,
            "the command bus is unavailable; try again shortly (with the same"
            " Idempotency-Key, a retry cannot create anything twice)",
            {"subject": exc.subject, "reason": exc.reason},
        )

    @app.exception_handler(ProjectionTimeoutError)
    async def on_projection(request: Request, exc: ProjectionTimeoutError) -> JSONResponse:
        return envelope(request, 503, ErrorCode.SERVICE_UNAVAILABLE, str(exc))

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return envelope(
            request, 500, ErrorCode.INTERNAL_ERROR, "internal error; it has been logged"
        )
