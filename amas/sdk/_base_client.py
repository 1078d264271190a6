"""What the sync and the async client share: where the node is, the key, how a call
becomes an HTTP request, when a refusal or a broken exchange is tried again, and how an
answer becomes a model or an error.

Retries (at most `max_retries` more attempts, the same Idempotency-Key on each):

    429                          always: the node refused before doing anything
    503                          when the request is safe to repeat: GET, PUT, DELETE, or
                                 a POST the node deduplicates by Idempotency-Key (submit a
                                 task, make or rotate an API key)
    connection refused           always: nothing was sent
    other broken exchanges       when the request is safe to repeat (as for 503)

The wait is the node's `Retry-After` when it gives one (a wait longer than
`max_retry_wait` is not waited: the error is raised at once), else an exponential
backoff with jitter.
"""

from __future__ import annotations

import os
import random
from typing import Any, TypedDict, TypeVar, Unpack

import httpx

from amas import __version__
from amas.sdk._call import Call
from amas.sdk.errors import (
    APIConnectionError,
    APITimeoutError,
    ResponseValidationError,
    retry_after_seconds,
    status_error,
)

T = TypeVar("T")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
DEFAULT_MAX_RETRY_WAIT = 60.0
_API_PREFIX = "/api/v1"
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout)


class Settings(TypedDict, total=False):
    """A client's settings besides where the node is and the key (see `Client`)."""

    nats_url: str | None
    timeout: float
    max_retries: int
    max_retry_wait: float
    headers: dict[str, str] | None


class ClientOptions:
    """A client's settings; the environment fills what is not given: `AMAS_API_URL`,
    `AMAS_API_KEY`, `AMAS_NATS_URL` (the same variables the `amas` CLI reads)."""

    def __init__(
        self, base_url: str | None = None, api_key: str | None = None, **settings: Unpack[Settings]
    ) -> None:
        url = (base_url or os.environ.get("AMAS_API_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.base_url = url.removesuffix(_API_PREFIX)
        """The node's root: API paths are under /api/v1, Prometheus' /metrics beside it."""
        self.api_key = api_key if api_key is not None else os.environ.get("AMAS_API_KEY")
        nats_url = settings.get("nats_url")
        self.nats_url = nats_url if nats_url is not None else os.environ.get("AMAS_NATS_URL")
        self.timeout = settings.get("timeout", DEFAULT_TIMEOUT)
        self.max_retries = settings.get("max_retries", DEFAULT_MAX_RETRIES)
        self.max_retry_wait = settings.get("max_retry_wait", DEFAULT_MAX_RETRY_WAIT)
        self.headers = dict(settings.get("headers") or {})

    def copy(self, **changes: Any) -> ClientOptions:
        options = ClientOptions.__new__(ClientOptions)
        options.__dict__.update(self.__dict__, **changes)
        return options

    def default_headers(self) -> dict[str, str]:
        headers = {"User-Agent": f"amas-sdk/{__version__}", "Accept": "application/json"}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        return {**headers, **self.headers}

    def build_request(
        self, http: httpx.Client | httpx.AsyncClient, call: Call[Any]
    ) -> httpx.Request:
        headers = self.default_headers()
        if call.idempotency_key is not None:
            headers["Idempotency-Key"] = call.idempotency_key
        timeout = call.req.timeout if call.req.timeout is not None else self.timeout
        return http.build_request(
            call.operation.method,
            self.base_url + call.path,
            params=call.query,
            json=call.req.json,
            headers=headers,
            timeout=timeout,
        )

    def retry_delay(
        self,
        call: Call[Any],
        attempt: int,
        response: httpx.Response | None = None,
        error: httpx.TransportError | None = None,
    ) -> float | None:
        """Seconds to wait before attempt `attempt + 1`, or None: do not try again."""
        if attempt >= self.max_retries:
            return None
        safe = call.operation.retry_safe
        if response is not None:
            status = response.status_code
            if status in call.req.answers or not (status == 429 or (status == 503 and safe)):
                return None
            wait = retry_after_seconds(response.headers)
            if wait is None:
                return _backoff(attempt)
            return wait if wait <= self.max_retry_wait else None
        if isinstance(error, _NEVER_SENT) or safe:
            return _backoff(attempt)
        return None

    @staticmethod
    def outcome(call: Call[T], response: httpx.Response) -> T:
        """The answer read as the call's model, or the refusal as an APIStatusError."""
        if not (response.is_success or response.status_code in call.req.answers):
            raise status_error(response)
        try:
            return call.req.parse(response)
        except (ValueError, KeyError, TypeError) as e:
            raise ResponseValidationError(
                f"{call.operation.method} {call.operation.path}: {type(e).__name__}: {e}"
            ) from e

    @staticmethod
    def connection_error(error: httpx.TransportError) -> APIConnectionError:
        request = error.request if _has_request(error) else None
        if isinstance(error, httpx.TimeoutException):
            return APITimeoutError(f"no answer in time: {error}", request=request)
        return APIConnectionError(f"the node could not be reached: {error!r}", request=request)


def _has_request(error: httpx.TransportError) -> bool:
    try:
        error.request  # noqa: B018 - httpx raises RuntimeError when it has none
    except RuntimeError:
        return False
    return True


def _backoff(attempt: int) -> float:
    return min(8.0, 0.5 * 2.0**attempt) * (1.0 - 0.25 * random.random())
