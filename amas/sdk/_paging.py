"""Pages of a list, and pagers that fetch them as the reader gets there.

Lists page by offset (`limit`, `offset`: tasks, workflows, workflow logs, webhook
deliveries) or by position (`from_position` -> `next_position`: the event log). Either
way a page says where the next one starts (`next_cursor`), or that there is none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import httpx

from amas.sdk._call import Call, Emit, Operation, Req, Stream
from amas.sdk.errors import ResponseValidationError

if TYPE_CHECKING:
    from amas.sdk._async import AsyncRunner
    from amas.sdk._sync import SyncRunner

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    has_more: bool
    total: int | None = None
    """How many there are in all, where the list says (the event log does not)."""
    next_cursor: int | None = None
    """The offset or position the next page starts at; None on the last page."""
    raw: dict[str, Any] = field(default_factory=dict, repr=False)
    """The whole answer (e.g. the event log's `head`)."""


def offset_page(
    key: str, item: Callable[[dict[str, Any]], T], total_key: str = "total"
) -> Callable[[httpx.Response, int], Page[T]]:
    """Read a `{key: [...], total, has_more}` answer that started at `offset`."""

    def parse(response: httpx.Response, offset: int) -> Page[T]:
        data = _object(response)
        items = [item(x) for x in _list(data, key)]
        has_more = bool(data.get("has_more"))
        total = data.get(total_key)
        following = offset + len(items) if has_more and items else None
        return Page(items, has_more, total if isinstance(total, int) else None, following, data)

    return parse


def position_page(
    key: str, item: Callable[[dict[str, Any]], T]
) -> Callable[[httpx.Response, int], Page[T]]:
    """Read a `{key: [...], next_position, has_more}` answer."""

    def parse(response: httpx.Response, _position: int) -> Page[T]:
        data = _object(response)
        items = [item(x) for x in _list(data, key)]
        has_more = bool(data.get("has_more"))
        following = data.get("next_position") if has_more else None
        return Page(items, has_more, None, following if isinstance(following, int) else None, data)

    return parse


def _object(response: httpx.Response) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise ResponseValidationError(f"expected an object, got {data!r:.200}")
    return data


def _list(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = data.get(key)
    if not isinstance(items, list):
        raise ResponseValidationError(f"the answer has no list {key!r}")
    return items


@dataclass(frozen=True)
class Paged(Generic[T]):
    """A list call: the request for the page at a cursor, and the first cursor."""

    request: Callable[[int], Req[Page[T]]]
    start: int


def _pages(operation: Operation, paged: Paged[T]) -> Stream[Page[T]]:
    cursor: int | None = paged.start
    while cursor is not None:
        page: Page[T] = yield Call.of(operation, paged.request(cursor))
        yield Emit(page)
        cursor = page.next_cursor


def _items(operation: Operation, paged: Paged[T]) -> Stream[T]:
    cursor: int | None = paged.start
    while cursor is not None:
        page: Page[T] = yield Call.of(operation, paged.request(cursor))
        for item in page.items:
            yield Emit(item)
        cursor = page.next_cursor


class _Lister(Generic[T]):
    def __init__(self, operation: Operation, paged: Paged[T]) -> None:
        self._operation, self._paged = operation, paged

    def _first(self) -> Call[Page[T]]:
        return Call.of(self._operation, self._paged.request(self._paged.start))


class Pager(_Lister[T]):
    """Every item of a list, page after page, each fetched when iteration reaches it."""

    def __init__(self, runner: SyncRunner, operation: Operation, paged: Paged[T]) -> None:
        super().__init__(operation, paged)
        self._runner = runner

    def __iter__(self) -> Iterator[T]:
        return self._runner.stream(_items(self._operation, self._paged))

    def pages(self) -> Iterator[Page[T]]:
        return self._runner.stream(_pages(self._operation, self._paged))

    def first_page(self) -> Page[T]:
        return self._runner.request(self._first())


class AsyncPager(_Lister[T]):
    """The same for an AsyncClient: `async for item in pager`."""

    def __init__(self, runner: AsyncRunner, operation: Operation, paged: Paged[T]) -> None:
        super().__init__(operation, paged)
        self._runner = runner

    def __aiter__(self) -> AsyncIterator[T]:
        return self._runner.stream(_items(self._operation, self._paged))

    def pages(self) -> AsyncIterator[Page[T]]:
        return self._runner.stream(_pages(self._operation, self._paged))

    async def first_page(self) -> Page[T]:
        return await self._runner.request(self._first())
