"""How answers are read: into a model, as JSON, as text; and lists into pages."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import httpx

from amas.sdk._call import Req
from amas.sdk._paging import Paged, offset_page
from amas.sdk.errors import ResponseValidationError
from amas.sdk.models._base import Model

M = TypeVar("M", bound=Model)


def as_model(cls: type[M]) -> Callable[[httpx.Response], M]:
    def parse(response: httpx.Response) -> M:
        return cls.from_dict(response.json())

    return parse


def as_json(response: httpx.Response) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise ResponseValidationError(f"expected an object, got {data!r:.200}")
    return data


def as_text(response: httpx.Response) -> str:
    return response.text


def offset_list(
    key: str,
    item: type[M],
    params: Mapping[str, Any],
    *,
    limit: int,
    offset: int,
    total_key: str = "total",
    path_params: Mapping[str, str] | None = None,
) -> Paged[M]:
    """A list paged by `limit` and `offset` whose answer holds its items under `key`."""
    parse = offset_page(key, item.from_dict, total_key)

    def request(at: int) -> Req[Any]:
        return Req(
            lambda r: parse(r, at),
            path_params=path_params or {},
            params={**params, "limit": limit, "offset": at},
        )

    return Paged(request, offset)


def as_list(key: str, item: type[M]) -> Callable[[httpx.Response], list[M]]:
    """Read `{key: [...]}` as a list of `item`."""

    def parse(response: httpx.Response) -> list[M]:
        items = as_json(response).get(key)
        if not isinstance(items, list):
            raise ResponseValidationError(f"the answer has no list {key!r}")
        return [item.from_dict(x) for x in items]

    return parse
