"""Failures of provider calls, translated in one place.

    ActorsError
     └── ProviderError   one vendor call failed; `kind` (a FailureKind) says how

Clients raise nothing else. An HTTP error answer goes through `from_response` (the
vendor's error body and headers), a mid-stream error event through `from_error_event`,
an httpx or timeout failure through `from_transport`, and a 2xx answer we cannot read
through `malformed`. `parse_rate_limits` (from limit_headers, re-exported here) reads
the vendors' rate-limit headers.

The vendors' traps, each with its answer here: a 429 is not always a rate limit (OpenAI
`insufficient_quota`, Anthropic `enforced_spend_limit_reached`, a Gemini per-day quota
or `limit: 0` are quotas that retrying cannot fix); Gemini answers a bad key with 400
INVALID_ARGUMENT (reason API_KEY_INVALID); Anthropic's overload is 529, Gemini's 503.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import httpx
import msgspec

from actors.errors import ActorsError
from actors.providers.limit_headers import (
    RateLimits,
    duration,
    exhausted_reset,
    parse_rate_limits,
    retry_after,
)

__all__ = [
    "FailureKind",
    "ProviderError",
    "RateLimits",
    "from_error_event",
    "from_response",
    "from_transport",
    "malformed",
    "parse_rate_limits",
]


class FailureKind(StrEnum):
    RATE_LIMITED = "rate_limited"  # too many requests or tokens for now: retry after retry_after
    QUOTA_EXHAUSTED = "quota_exhausted"  # no credit, a spend cap, a per-day or zero quota
    OVERLOADED = "overloaded"  # 529, 503 (Gemini UNAVAILABLE): the vendor is busy
    SERVER_ERROR = "server_error"  # any other 5xx
    TIMEOUT = "timeout"  # no whole answer within the call's timeout (or a 408)
    CONNECTION = "connection"  # refused, reset, unreachable
    AUTH = "auth"  # 401/403, Gemini's API_KEY_INVALID: the key is wrong or lacks access
    NOT_FOUND = "not_found"  # 404: an unknown model, or one the key may not use
    CONTEXT_TOO_LONG = "context_too_long"  # the prompt does not fit the model's window
    BAD_REQUEST = "bad_request"  # any other 4xx
    MALFORMED = "malformed"  # a 2xx we cannot read, or a stream cut before its end


class ProviderError(ActorsError):
    """One provider call failed. `message` names the vendor, the status and the vendor's
    error code, and never contains the API key."""

    def __init__(
        self,
        kind: FailureKind,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        retry_after: float | None = None,
        reset_at: float | None = None,
        limits: RateLimits | None = None,
        started_streaming: bool = False,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.code = code
        """The vendor's own error type or code (`insufficient_quota`, `overloaded_error`)."""
        self.retry_after = retry_after
        """Seconds to wait before trying this provider again: what the vendor said, or
        until `reset_at` when that is known."""
        self.reset_at = reset_at
        """Unix time a quota resets, when knowable (Gemini per-day, Anthropic spend cap)."""
        self.limits = limits
        self.started_streaming = started_streaming
        """True when the failure came after the stream's first Delta."""

    def __repr__(self) -> str:
        return f"ProviderError({self.kind.value!r}, {self.message!r}, status={self.status!r})"


class _Verdict(NamedTuple):
    kind: FailureKind | None
    """None: the HTTP status decides."""
    code: str | None
    message: str
    retry_after: float | None = None
    reset_at: float | None = None


_CONTEXT = re.compile(
    r"context[ _]length|context window|context limit|maximum context|prompt is too long"
    r"|input token count|size limit exceeded|too many tokens: total",
    re.IGNORECASE,
)


def _too_long(status: int | None, message: str) -> bool:
    return status in (None, 400, 413, 422) and _CONTEXT.search(message) is not None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


_OPENAI_CODES = {
    "insufficient_quota": FailureKind.QUOTA_EXHAUSTED,
    "context_length_exceeded": FailureKind.CONTEXT_TOO_LONG,
    "model_not_found": FailureKind.NOT_FOUND,
}


def _openai(status: int | None, body: Any, now: float) -> _Verdict:
    error = _dict(body).get("error")
    if not isinstance(error, dict):  # OpenAI-compatible servers: {"error": "..."} or {"message"}
        message = str(error or _dict(body).get("message") or "")
        return _Verdict(
            FailureKind.CONTEXT_TOO_LONG if _too_long(status, message) else None, None, message
        )
    code = error.get("code") or error.get("type")
    message = str(error.get("message") or "")
    kind = _OPENAI_CODES.get(str(code)) or _OPENAI_CODES.get(str(error.get("type")))
    if kind is None and _too_long(status, message):
        kind = FailureKind.CONTEXT_TOO_LONG
    return _Verdict(kind, str(code) if code else None, message)


_ANTHROPIC_TYPES = {
    "invalid_request_error": FailureKind.BAD_REQUEST,
    "authentication_error": FailureKind.AUTH,
    "permission_error": FailureKind.AUTH,
    "billing_error": FailureKind.QUOTA_EXHAUSTED,
    "not_found_error": FailureKind.NOT_FOUND,
    "request_too_large": FailureKind.BAD_REQUEST,
    "rate_limit_error": FailureKind.RATE_LIMITED,
    "api_error": FailureKind.SERVER_ERROR,
    "timeout_error": FailureKind.SERVER_ERROR,
    "overloaded_error": FailureKind.OVERLOADED,
}


def _first_of_next_month(now: float) -> float:
    today = dt.datetime.fromtimestamp(now, dt.UTC)
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return dt.datetime(year, month, 1, tzinfo=dt.UTC).timestamp()


def _anthropic(status: int | None, body: Any, now: float) -> _Verdict:
    error = _dict(_dict(body).get("error"))
    kind_name = error.get("type")
    message = str(error.get("message") or "")
    if _dict(error.get("details")).get("error_code") == "enforced_spend_limit_reached":
        # The tier's monthly spend cap: paused until 00:00 UTC on the 1st, no retry-after.
        return _Verdict(
            FailureKind.QUOTA_EXHAUSTED,
            "enforced_spend_limit_reached",
            message,
            reset_at=_first_of_next_month(now),
        )
    if kind_name == "invalid_request_error" and "usage limits" in message:
        return _Verdict(
            FailureKind.QUOTA_EXHAUSTED, kind_name, message
        )  # a spend limit set by the customer
    if _too_long(status, message):
        return _Verdict(FailureKind.CONTEXT_TOO_LONG, kind_name, message)
    return _Verdict(_ANTHROPIC_TYPES.get(str(kind_name)), kind_name, message)


_GOOGLE_STATUSES = {
    "INVALID_ARGUMENT": FailureKind.BAD_REQUEST,
    "FAILED_PRECONDITION": FailureKind.BAD_REQUEST,
    "OUT_OF_RANGE": FailureKind.BAD_REQUEST,
    "UNAUTHENTICATED": FailureKind.AUTH,
    "PERMISSION_DENIED": FailureKind.AUTH,
    "NOT_FOUND": FailureKind.NOT_FOUND,
    "INTERNAL": FailureKind.SERVER_ERROR,
    "UNKNOWN": FailureKind.SERVER_ERROR,
    "DEADLINE_EXCEEDED": FailureKind.SERVER_ERROR,
    "UNAVAILABLE": FailureKind.OVERLOADED,
}
_PACIFIC = ZoneInfo("America/Los_Angeles")


def _next_pacific_midnight(now: float) -> float:
    today = dt.datetime.fromtimestamp(now, _PACIFIC).date()
    return dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), _PACIFIC).timestamp()


def _gemini(status: int | None, body: Any, now: float) -> _Verdict:
    if isinstance(body, list) and body:  # the non-SSE stream answers with a JSON array
        body = body[0]
    error = _dict(_dict(body).get("error"))
    state = error.get("status")
    message = str(error.get("message") or "")
    details = {
        str(d.get("@type", "")).rsplit("/", 1)[-1]: d
        for d in error.get("details") or []
        if isinstance(d, dict)
    }
    if _dict(details.get("google.rpc.ErrorInfo")).get("reason") == "API_KEY_INVALID":
        return _Verdict(FailureKind.AUTH, "API_KEY_INVALID", message)
    if state == "RESOURCE_EXHAUSTED" or status == 429:
        delay = duration(_dict(details.get("google.rpc.RetryInfo")).get("retryDelay"))
        violations = [
            _dict(v) for v in _dict(details.get("google.rpc.QuotaFailure")).get("violations") or []
        ]
        per_day = any("PerDay" in str(v.get("quotaId", "")) for v in violations)
        if (
            per_day
            or "limit: 0" in message
            or any(str(v.get("quotaValue")) == "0" for v in violations)
        ):
            reset_at = _next_pacific_midnight(now) if per_day else None
            return _Verdict(FailureKind.QUOTA_EXHAUSTED, state, message, delay, reset_at)
        return _Verdict(FailureKind.RATE_LIMITED, state, message, delay)
    if _too_long(status, message):
        return _Verdict(FailureKind.CONTEXT_TOO_LONG, state, message)
    return _Verdict(_GOOGLE_STATUSES.get(str(state)), state, message)


def _cohere(status: int | None, body: Any, now: float) -> _Verdict:
    message = str(_dict(body).get("message") or "")
    if status == 429 and "month" in message:  # a trial key's monthly call limit
        return _Verdict(FailureKind.QUOTA_EXHAUSTED, None, message)
    if _too_long(status, message):
        return _Verdict(FailureKind.CONTEXT_TOO_LONG, None, message)
    return _Verdict(None, None, message)


_CLASSIFIERS: dict[str, Callable[[int | None, Any, float], _Verdict]] = {
    "openai": _openai,
    "anthropic": _anthropic,
    "gemini": _gemini,
    "cohere": _cohere,
}


def _by_status(status: int | None) -> FailureKind:
    match status:
        case 401 | 403:
            return FailureKind.AUTH
        case 402:
            return FailureKind.QUOTA_EXHAUSTED
        case 404:
            return FailureKind.NOT_FOUND
        case 408:
            return FailureKind.TIMEOUT
        case 429:
            return FailureKind.RATE_LIMITED
        case 503 | 529:
            return FailureKind.OVERLOADED
        case int() if 400 <= status < 500:
            return FailureKind.BAD_REQUEST
        case _:
            return FailureKind.SERVER_ERROR


def _text(head: str, message: str, secret: str | None) -> str:
    message = " ".join(message.split())[:500]
    text = f"{head}: {message}" if message else head
    return text.replace(secret, "***") if secret else text


def from_response(
    style: str,
    status: int,
    content: bytes,
    headers: Mapping[str, str],
    *,
    secret: str | None,
    now: float | None = None,
) -> ProviderError:
    """A vendor's HTTP error answer (any status but 2xx) as a ProviderError."""
    now = time.time() if now is None else now
    try:
        body = msgspec.json.decode(content)
    except msgspec.DecodeError:
        body = None
    verdict = _CLASSIFIERS[style](status, body, now)
    limits = parse_rate_limits(headers, now)
    wait = retry_after(headers, now)
    if wait is None:
        wait = verdict.retry_after
    if wait is None and status == 429:
        wait = exhausted_reset(limits)
    if verdict.reset_at is not None:  # a quota's reset outranks a retry hint meant for rates
        wait = max(verdict.reset_at - now, 0.0)
    message = verdict.message or content[:200].decode("utf-8", "replace")
    head = " ".join(part for part in (style, str(status), verdict.code) if part)
    return ProviderError(
        verdict.kind or _by_status(status),
        _text(head, message, secret),
        status=status,
        code=verdict.code,
        retry_after=wait,
        reset_at=verdict.reset_at,
        limits=limits if limits != RateLimits() else None,
    )


def from_error_event(style: str, payload: Any, *, secret: str | None) -> ProviderError:
    """An error the vendor sent inside a 200 stream (no HTTP status of its own)."""
    embedded = _dict(_dict(payload).get("error")).get("code")
    status = embedded if isinstance(embedded, int) and 400 <= embedded < 600 else None
    verdict = _CLASSIFIERS[style](status, payload, time.time())
    head = " ".join(part for part in (style, "stream error", verdict.code) if part)
    return ProviderError(
        verdict.kind or (_by_status(status) if status else FailureKind.SERVER_ERROR),
        _text(head, verdict.message, secret),
        status=status,
        code=verdict.code,
        retry_after=verdict.retry_after,
        reset_at=verdict.reset_at,
    )


def from_transport(
    style: str, error: Exception, *, secret: str | None, answering: bool = False
) -> ProviderError:
    """A timeout (ours or httpx's) or an httpx transport error. `answering`: the vendor
    had begun its answer, so a peer that closes early cut it short."""
    if isinstance(error, TimeoutError | httpx.TimeoutException):
        return ProviderError(FailureKind.TIMEOUT, _text(style, "no whole answer in time", secret))
    cut = answering and isinstance(error, httpx.RemoteProtocolError)
    if cut or isinstance(error, httpx.DecodingError):
        return malformed(style, f"the answer was cut short ({error})", secret=secret)
    return ProviderError(
        FailureKind.CONNECTION, _text(style, f"{type(error).__name__}: {error}", secret)
    )


def malformed(style: str, reason: str, *, secret: str | None) -> ProviderError:
    """A 2xx answer we cannot read, or a stream that ended before its end."""
    return ProviderError(FailureKind.MALFORMED, _text(style, reason, secret))
