"""The SDK's errors: every one is an AMASError.

AMASError
├── APIConnectionError             the node could not be reached, or the exchange broke
│   └── APITimeoutError            no answer in time (also a TimeoutError)
├── APIStatusError                 the node answered with an error: the seed's envelope
│   ├── BadRequestError            400 INVALID_REQUEST, INVALID_PARAMETER, ...
│   ├── AuthenticationError        401 UNAUTHORIZED
│   ├── PermissionDeniedError      403 FORBIDDEN
│   ├── NotFoundError              404 NOT_FOUND, WORKFLOW_NOT_FOUND
│   ├── ConflictError              409 CONFLICT
│   ├── GoneError                  410 GONE
│   ├── PayloadTooLargeError       413 PAYLOAD_TOO_LARGE
│   ├── UnprocessableEntityError   422 VALIDATION_ERROR
│   ├── RateLimitError             429 RATE_LIMITED (retry_after)
│   ├── InternalServerError        500 and any other 5xx
│   └── ServiceUnavailableError    503 SERVICE_UNAVAILABLE, AI_PROVIDER_UNAVAILABLE (retry_after)
├── ResponseValidationError        an answer without the shape this SDK expects
├── WaitTimeoutError               a task did not end in time (also a TimeoutError)
├── EventStreamUnavailable         no way to follow a task's events
└── WebhookVerificationError       a delivery whose signature or timestamp does not hold
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx


class AMASError(Exception):
    """Root of every error the SDK raises."""


class APIConnectionError(AMASError):
    """The request did not get an answer: refused connection, reset, broken response."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError, TimeoutError):
    """No answer within the client's timeout."""


class APIStatusError(AMASError):
    """The node refused: its error envelope, field by field.

    `code`, `message`, `details`, `request_id` and `timestamp` are the envelope's
    (`{"error": {...}}`); `status_code` and `headers` the response's.
    """

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: str | None = None,
        details: Any = None,
        request_id: str | None = None,
        timestamp: str | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(f"{response.status_code} {code or 'HTTP_ERROR'}: {message}")
        self.message = message
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        self.code = code
        self.details: Any = details if details is not None else {}
        self.request_id = request_id
        self.timestamp = timestamp
        self.body = body

    @property
    def retry_after(self) -> float | None:
        """Seconds the node asked to wait (`Retry-After`), if it said."""
        return retry_after_seconds(self.headers)


class BadRequestError(APIStatusError):
    """400: the request cannot be read or a parameter is wrong."""


class AuthenticationError(APIStatusError):
    """401: no API key, or one the node refuses (unknown, revoked, expired)."""


class PermissionDeniedError(APIStatusError):
    """403: the key lacks the scope, or the target is outside the allow-list."""


class NotFoundError(APIStatusError):
    """404: no such task, agent, key, workflow, webhook, provider or path."""


class ConflictError(APIStatusError):
    """409: the state does not allow it (a finished task), or an Idempotency-Key was used
    for a different request."""


class GoneError(APIStatusError):
    """410: a retired API version."""


class PayloadTooLargeError(APIStatusError):
    """413: the body is over the node's limit."""


class UnprocessableEntityError(APIStatusError):
    """422: a body or query that does not fit the schema."""


class RateLimitError(APIStatusError):
    """429: the key's tier, its concurrent tasks, or a route group's limit."""


class InternalServerError(APIStatusError):
    """500 or another 5xx the SDK has no class for."""


class ServiceUnavailableError(APIStatusError):
    """503: the command bus is down, a read model lags, or no AI provider could answer."""


class ResponseValidationError(AMASError):
    """The node answered 2xx with a body this SDK cannot read as the documented model."""


class WaitTimeoutError(AMASError, TimeoutError):
    """A task did not end within the time given: its `task_id` and the `status` last seen."""

    def __init__(self, message: str, *, task_id: str, status: str | None = None) -> None:
        super().__init__(message)
        self.task_id = task_id
        self.status = status


class EventStreamUnavailable(AMASError):
    """Neither NATS nor the HTTP event log can serve the stream asked for."""


class WebhookVerificationError(AMASError):
    """A webhook delivery whose signature, timestamp or headers do not check out."""


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    413: PayloadTooLargeError,
    422: UnprocessableEntityError,
    429: RateLimitError,
    503: ServiceUnavailableError,
}


def status_error(response: httpx.Response) -> APIStatusError:
    """The error for a refusal: its class from the status, its fields from the envelope."""
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    envelope = body.get("error") if isinstance(body, dict) else None
    if not isinstance(envelope, dict):
        envelope = {}
    cls = _BY_STATUS.get(response.status_code)
    if cls is None:
        cls = InternalServerError if response.status_code >= 500 else APIStatusError
    message = envelope.get("message")
    return cls(
        str(message) if message else response.reason_phrase or "error",
        response=response,
        code=envelope.get("code"),
        details=envelope.get("details"),
        request_id=envelope.get("request_id") or response.headers.get("x-request-id"),
        timestamp=envelope.get("timestamp"),
        body=body,
    )


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """`Retry-After` in seconds: a number of seconds, or an HTTP date."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
