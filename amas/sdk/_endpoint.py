"""Resource methods written once, for the sync and the async client alike.

A resource method builds what to send (a `Req`, a `Paged` list, or a flow); a
descriptor turns it into the method a client's user calls: on a `Resource[Sync]` it
sends and returns the answer, on a `Resource[Async]` it returns an awaitable (or an
async iterator). The types follow: `client.tasks.get` is `(task_id: str) -> Task`,
`async_client.tasks.get` is `(task_id: str) -> Awaitable[Task]`.

Each operation a method calls is registered in `OPERATIONS` when its resource class is
made, so a test can hold the SDK to the node's OpenAPI document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, Generic, ParamSpec, TypeVar, overload

from amas.sdk._call import Call, Flow, Operation, Req, Stream
from amas.sdk._paging import AsyncPager, Paged, Pager

if TYPE_CHECKING:
    from typing import Self

P = ParamSpec("P")
T = TypeVar("T")

OPERATIONS: dict[tuple[str, str], list[str]] = {}
"""(method, path template) -> the SDK methods that call it, as `Resource.method`."""


class Sync:
    """Marks a resource of the blocking Client."""


class Async:
    """Marks a resource of the AsyncClient."""


M = TypeVar("M", Sync, Async)


class Resource(Generic[M]):
    """A group of operations under one path prefix, e.g. /api/v1/tasks."""

    prefix: ClassVar[str] = ""

    def __init__(self, runner: Any) -> None:
        self._runner = runner

    @property
    def nats_url(self) -> str | None:
        url: str | None = self._runner.nats_url
        return url


class _Method(Generic[P, T]):
    """What every kind of resource method shares: its builder, its registration, and
    the bound method a client's user calls (each kind says how to send what it built)."""

    def __init__(
        self,
        build: Callable[Concatenate[Any, P], Any],
        method: str = "",
        path: str | None = None,
        *,
        deduplicated: bool = False,
        root: bool = False,
    ) -> None:
        self._build = build
        self._method, self._path = method, path
        self._deduplicated, self._root = deduplicated, root
        self.__doc__ = build.__doc__
        self.operation = Operation("", "")

    def __set_name__(self, owner: type[Resource[Any]], name: str) -> None:
        if self._path is None:
            return  # a flow: it calls other methods' operations
        path = self._path if self._root else f"/api/v1{owner.prefix}{self._path}"
        self.operation = Operation(self._method, path, self._deduplicated)
        OPERATIONS.setdefault((self._method, path), []).append(f"{owner.__name__}.{name}")

    def _send(self, runner: Any, built: Any) -> Any:
        raise NotImplementedError

    def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any:
        if obj is None:
            return self

        def method(*args: P.args, **kwargs: P.kwargs) -> Any:
            return self._send(obj._runner, self._build(obj, *args, **kwargs))

        method.__doc__ = self.__doc__
        return method


class _Valued(_Method[P, T]):
    """A method that answers a value: T, or an awaitable of T on an AsyncClient."""

    if TYPE_CHECKING:

        @overload
        def __get__(self, obj: None, owner: type[Any]) -> Self: ...
        @overload
        def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, T]: ...
        @overload
        def __get__(self, obj: Resource[Async], owner: type[Any]) -> Callable[P, Awaitable[T]]: ...
        def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any: ...


class _Endpoint(_Valued[P, T]):
    def call(self, resource: Resource[Any], *args: P.args, **kwargs: P.kwargs) -> Call[T]:
        """The call this method makes, for a flow to send."""
        req: Req[T] = self._build(resource, *args, **kwargs)
        return Call.of(self.operation, req)

    def _send(self, runner: Any, built: Any) -> Any:
        return runner.request(Call.of(self.operation, built))


class _Listing(_Method[P, T]):
    def _send(self, runner: Any, built: Any) -> Any:
        return runner.paginate(self.operation, built)

    if TYPE_CHECKING:

        @overload
        def __get__(self, obj: None, owner: type[Any]) -> Self: ...
        @overload
        def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, Pager[T]]: ...
        @overload
        def __get__(self, obj: Resource[Async], owner: type[Any]) -> Callable[P, AsyncPager[T]]: ...
        def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any: ...


class _Flow(_Valued[P, T]):
    def _send(self, runner: Any, built: Any) -> Any:
        return runner.run(built)


class _Stream(_Method[P, T]):
    def _send(self, runner: Any, built: Any) -> Any:
        return runner.stream(built)

    if TYPE_CHECKING:

        @overload
        def __get__(self, obj: None, owner: type[Any]) -> Self: ...
        @overload
        def __get__(self, obj: Resource[Sync], owner: type[Any]) -> Callable[P, Iterator[T]]: ...
        @overload
        def __get__(
            self, obj: Resource[Async], owner: type[Any]
        ) -> Callable[P, AsyncIterator[T]]: ...
        def __get__(self, obj: Resource[Any] | None, owner: type[Any]) -> Any: ...


def endpoint(
    method: str, path: str, *, deduplicated: bool = False, root: bool = False
) -> Callable[[Callable[Concatenate[Any, P], Req[T]]], _Endpoint[P, T]]:
    """One request: `path` is under the resource's prefix (or, with `root`, the node's
    root); `deduplicated` says the node honours Idempotency-Key on it."""

    def wrap(build: Callable[Concatenate[Any, P], Req[T]]) -> _Endpoint[P, T]:
        return _Endpoint(build, method, path, deduplicated=deduplicated, root=root)

    return wrap


def listing(
    method: str, path: str
) -> Callable[[Callable[Concatenate[Any, P], Paged[T]]], _Listing[P, T]]:
    """A list: the method returns a pager (Pager, or AsyncPager for an AsyncClient)."""

    def wrap(build: Callable[Concatenate[Any, P], Paged[T]]) -> _Listing[P, T]:
        return _Listing(build, method, path)

    return wrap


def flow(build: Callable[Concatenate[Any, P], Flow[T]]) -> _Flow[P, T]:
    """A method made of several calls (and waits): its generator yields each step."""
    return _Flow(build)


def stream(build: Callable[Concatenate[Any, P], Stream[T]]) -> _Stream[P, T]:
    """A flow that hands items to its reader (an iterator, or an async iterator)."""
    return _Stream(build)


def streaming(
    method: str, path: str
) -> Callable[[Callable[Concatenate[Any, P], Stream[T]]], _Stream[P, T]]:
    """A stream that is one operation of its own (server-sent events), registered as
    `endpoint` registers one: its generator opens `Class.method.operation`."""

    def wrap(build: Callable[Concatenate[Any, P], Stream[T]]) -> _Stream[P, T]:
        return _Stream(build, method, path)

    return wrap
