"""Idempotency-Key: a retried POST returns the first answer and creates nothing more.

The key (per API key: two clients may pick the same one) decides the id of what the
request creates, so the log itself arbitrates: a second request for the same id meets
the first one's stream. The request's hash rides along in the event; a retry whose body
differs from the first is 409. Answers are rebuilt from what the first request recorded,
so they survive restarts. One thing cannot be rebuilt: a secret shown once (a new API
key). Those first answers are kept in memory for a while, and a retry after that gets
the key without its secret, saying so.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections import OrderedDict
from typing import Any

import msgspec
from fastapi import Request
from pydantic import BaseModel

from api.errors import ApiError
from events.vocabulary import ErrorCode

HEADER = "Idempotency-Key"
_ACCEPTABLE = re.compile(r"^[A-Za-z0-9._:~+/=-]{1,200}$")
_SECRETS_KEPT = 600.0
_SECRETS_MAX = 10_000


def key_of(request: Request) -> str | None:
    """The request's Idempotency-Key, checked; None without one."""
    value = request.headers.get(HEADER)
    if value is None:
        return None
    if not _ACCEPTABLE.match(value):
        raise ApiError(
            ErrorCode.INVALID_PARAMETER,
            f"{HEADER} must be 1 to 200 characters of A-Z a-z 0-9 . _ : ~ + / = -",
            {"parameter": HEADER, "provided": value[:200]},
        )
    return value


def request_hash(request: Request, body: BaseModel | None) -> str:
    """What the request asks for, independent of key order and whitespace."""
    payload = body.model_dump(mode="json") if body is not None else None
    canonical = msgspec.json.encode([request.method, request.url.path, payload], order="sorted")
    return hashlib.sha256(canonical).hexdigest()


def derived_id(request: Request, key: str, kind: str, length: int = 26) -> str:
    """The id a request with this Idempotency-Key creates: the same on every retry."""
    principal = getattr(request.state, "principal", None)
    owner = principal.key_id if principal is not None and principal.key_id else "anonymous"
    digest = hashlib.sha256(f"{kind}\n{owner}\n{key}".encode()).digest()
    return base64.b32encode(digest).decode().lower()[:length]


def reused(key: str, **made: str) -> ApiError:
    """409 for `key` sent again with a different request; `made` names what the first
    request created (task_id=..., key_id=...)."""
    return ApiError(
        ErrorCode.CONFLICT,
        f"this {HEADER} was used for a different request",
        {"idempotency_key": key, **made},
    )


class FirstAnswers:
    """First answers that hold a secret, for a short while, in memory only."""

    def __init__(self) -> None:
        self._kept: OrderedDict[str, tuple[float, dict[str, Any]]] = OrderedDict()

    def keep(self, rid: str, answer: dict[str, Any]) -> None:
        self._kept[rid] = (time.monotonic() + _SECRETS_KEPT, answer)
        while len(self._kept) > _SECRETS_MAX:
            self._kept.popitem(last=False)

    def recall(self, rid: str) -> dict[str, Any] | None:
        kept = self._kept.get(rid)
        if kept is None or kept[0] < time.monotonic():
            self._kept.pop(rid, None)
            return None
        return kept[1]
