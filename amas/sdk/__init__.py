"""The AMAS Python SDK: a client of an AMAS node's HTTP API (and, optionally, its NATS).

It needs httpx only (and the `nats` package for event streams over NATS); it imports
nothing of the node.

    from amas.sdk import Client

    with Client("http://127.0.0.1:8000", api_key="amas_...") as client:
        submitted = client.tasks.submit("echo", parameters={"message": "hello"})
        task = client.tasks.wait(submitted.task_id)
        print(task.status, client.tasks.results(task.task_id).results)
"""

from amas.sdk._client import AsyncClient, Client
from amas.sdk._paging import AsyncPager, Page, Pager
from amas.sdk.errors import (
    AMASError,
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    EventStreamUnavailable,
    GoneError,
    InternalServerError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ResponseValidationError,
    ServiceUnavailableError,
    UnprocessableEntityError,
    WaitTimeoutError,
    WebhookVerificationError,
)
from amas.sdk.models.events import Event
from amas.sdk.models.tasks import Task, TaskResults, TaskSubmitted

__all__ = [
    "AMASError",
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AsyncPager",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ConflictError",
    "Event",
    "EventStreamUnavailable",
    "GoneError",
    "InternalServerError",
    "NotFoundError",
    "Page",
    "Pager",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResponseValidationError",
    "ServiceUnavailableError",
    "Task",
    "TaskResults",
    "TaskSubmitted",
    "UnprocessableEntityError",
    "WaitTimeoutError",
    "WebhookVerificationError",
]
