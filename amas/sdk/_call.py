"""What a client sends, described without sending it.

An `Operation` is one (method, path template) of the node's API; a `Call` is one use of
it (path parameters, query, body, how to read the answer). Resources build calls; the
sync and the async client send them the same way (see `_base_client.py`). A flow (a
task's `wait`, its event stream, a pager) is a generator of `Step`s that either client
drives: it yields a Call and gets the answer back, so its logic is written once.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

T = TypeVar("T")

RETRY_SAFE_METHODS = frozenset({"GET", "HEAD", "PUT", "DELETE"})


@dataclass(frozen=True)
class Operation:
    """One operation of the API, as its OpenAPI document names it."""

    method: str
    path: str
    deduplicated: bool = False
    """The node honours `Idempotency-Key` here: a repeat creates nothing more."""

    @property
    def retry_safe(self) -> bool:
        """May a request whose fate is unknown (a 503, a broken connection) be sent again?"""
        return self.method in RETRY_SAFE_METHODS or self.deduplicated


@dataclass(frozen=True)
class Req(Generic[T]):
    """A call's arguments: what a resource method builds."""

    parse: Callable[[httpx.Response], T]
    path_params: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    idempotency_key: str | None = None
    answers: frozenset[int] = frozenset()
    """Error statuses whose body is an answer, not a refusal (health's 503)."""
    timeout: float | None = None
    """This call's own timeout, for operations that take long by design."""


@dataclass(frozen=True)
class Call(Generic[T]):
    operation: Operation
    req: Req[T]
    idempotency_key: str | None

    @classmethod
    def of(cls, operation: Operation, req: Req[T]) -> Call[T]:
        key = req.idempotency_key
        if key is None and operation.method == "POST":
            key = f"amas-sdk-{uuid.uuid4().hex}"  # one per call: every retry sends it
        return cls(operation, req, key)

    @property
    def path(self) -> str:
        params = {k: quote(str(v), safe="") for k, v in self.req.path_params.items()}
        return self.operation.path.format(**params)

    @property
    def query(self) -> list[tuple[str, str | int | float | bool | None]]:
        """The query without the parameters left unset; a list value repeats its name."""
        pairs: list[tuple[str, str | int | float | bool | None]] = []
        for name, value in self.req.params.items():
            for one in value if isinstance(value, list | tuple) else [value]:
                if one is not None:
                    pairs.append((name, one))
        return pairs


def body(**fields: Any) -> dict[str, Any]:
    """A JSON body of the fields given (None: not given, so the node's default holds)."""
    return {name: value for name, value in fields.items() if value is not None}


# -- flows ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Emit(Generic[T]):
    """An item a streaming flow hands to its reader."""

    item: T


@dataclass(frozen=True)
class Open:
    """Open a source of items (NATS, a server-sent event stream); the answer is its
    handle, closed by the client when the flow ends."""

    spec: Any


@dataclass(frozen=True)
class Next:
    """The source's next item; `TIMED_OUT` after `timeout` seconds without one, `ENDED`
    when it has no more."""

    handle: Any
    timeout: float


TIMED_OUT = object()
ENDED = object()

Step = Call[Any] | Sleep | Open | Next
Flow = Generator[Step | Emit[Any], Any, T]
"""Steps that end in a value (`wait`); what they emit on the way is dropped."""
Stream = Generator[Step | Emit[T], Any, None]
"""Steps that hand items to a reader as they come (an event stream, a pager)."""


class FlowCursor(Generic[T]):
    """Steps through a flow for a client: the client runs each step it is given and
    hands back the answer (or the SDK error it raised); `value` is the flow's result."""

    def __init__(self, flow: Generator[Step | Emit[Any], Any, T]) -> None:
        self._flow = flow
        self._answer: Any = None
        self._error: Exception | None = None
        self._value: Any = None

    @property
    def value(self) -> T:
        """What the flow returned (once `next_step` has given None)."""
        result: T = self._value
        return result

    def next_step(self) -> Step | Emit[Any] | None:
        """The flow's next step; None once it has returned."""
        try:
            if self._error is not None:
                step = self._flow.throw(self._error)
            else:
                step = self._flow.send(self._answer)
        except StopIteration as stop:
            self._value = stop.value
            return None
        self._answer, self._error = None, None
        return step

    def answer(self, value: Any) -> None:
        self._answer = value

    def fail(self, error: Exception) -> None:
        self._error = error

    def close(self) -> None:
        self._flow.close()
