"""/api-keys (admin): create, list, inspect, rotate and revoke API keys.

The raw key is made here, shown once in the answer to the request that made it, and
never sent further: the command carries only its hash. A revoke answers once the
node refuses the key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiosqlite
from fastapi import APIRouter, Request

from api import idempotency
from api.auth.scopes import ADMIN
from api.deps import port_of, request_meta
from api.errors import ApiError, check
from api.port import NodePort
from api.schemas import CreateApiKeyBody, RotateApiKeyBody
from events.clock import iso_seconds
from events.commands import (
    CREATE_API_KEY,
    REVOKE_API_KEY,
    ROTATE_API_KEY,
    Reply,
    RevokeApiKey,
    RotateApiKey,
    create_command,
)
from events.keys import NewKey, generate
from events.queries import apikeys as queries
from events.vocabulary import ErrorCode

router = APIRouter(prefix="/api-keys", tags=["api-keys"], dependencies=[ADMIN])

_SHOWN_ONCE = "Store this key now: it is shown only once and cannot be recovered."


def _utc(moment: datetime | None) -> str | None:
    return iso_seconds(moment) if moment else None


async def _key_or_404(db: aiosqlite.Connection, key_id: str) -> dict[str, Any]:
    row = await queries.get_key(db, key_id)
    if row is None:
        raise ApiError(ErrorCode.NOT_FOUND, f"API key {key_id!r} not found", {"key_id": key_id})
    return row


async def _after(port: NodePort, reply: Reply, key_id: str) -> dict[str, Any]:
    """The key's row once the read model has the command's events."""
    await port.wait_for(check(reply).position, 5.0, "api_keys")
    return await _key_or_404(port.reader, key_id)


def _with_secret(view: dict[str, Any], key: NewKey) -> dict[str, Any]:
    return {**view, "api_key": key.raw, "message": _SHOWN_ONCE}


@router.post("", status_code=201)
async def create_api_key(body: CreateApiKeyBody, request: Request) -> dict[str, Any]:
    """Make a key. With an `Idempotency-Key` header, a retry gets the first answer."""
    port = port_of(request)
    db = port.reader
    if body.expires_at is not None and body.expires_at <= datetime.now(UTC):
        raise ApiError(
            ErrorCode.INVALID_PARAMETER,
            "expires_at is in the past",
            {"parameter": "expires_at", "provided": _utc(body.expires_at)},
        )
    idem = idempotency.key_of(request)
    digest = idempotency.request_hash(request, body) if idem else None
    key_id = idempotency.derived_id(request, idem, "apikey", 16) if idem else None
    if key_id is not None and (first := await queries.get_key(db, key_id)) is not None:
        return _again(request, key_id, first, digest, idem)
    key, command = create_command(
        body.name,
        list(body.scopes),
        body.tier,
        body.owner,
        _utc(body.expires_at),
        request_meta(request),
        key_id,
        digest,
    )
    reply = await port.send(CREATE_API_KEY, command)
    row = await _after(port, reply, key.key_id)
    if reply.data.get("replayed"):  # a retry that overtook the first one
        return _again(request, key.key_id, row, digest, idem)
    return _first(request, key_id, _with_secret(queries.view(row), key))


def _first(request: Request, rid: str | None, answer: dict[str, Any]) -> dict[str, Any]:
    if rid is not None:
        request.app.state.first_answers.keep(rid, answer)
    return answer


def _again(
    request: Request, rid: str, row: dict[str, Any], digest: str | None, idem: str | None
) -> dict[str, Any]:
    """The answer to a retry: the first answer while it is kept, else the key without
    its secret (shown once, to the first request)."""
    if row["request_hash"] != digest:
        raise idempotency.reused(idem or "", key_id=rid)
    return _replayed(
        request,
        rid,
        row,
        "made by an earlier request with this Idempotency-Key; its secret was"
        " shown to that request only (rotate the key for a new one)",
    )


def _replayed(request: Request, rid: str, row: dict[str, Any], unkept: str) -> dict[str, Any]:
    """A retry's answer: the first one while it is kept, else the key without its secret
    and `unkept` saying why."""
    kept: dict[str, Any] | None = request.app.state.first_answers.recall(rid)
    if kept is not None:
        return kept
    return {**queries.view(row), "api_key": None, "message": unkept}


@router.get("")
async def list_api_keys(request: Request) -> dict[str, Any]:
    db = port_of(request).reader
    keys = [queries.view(row) for row in await queries.list_keys(db)]
    return {"api_keys": keys, "total": len(keys)}


@router.get("/{key_id}")
async def get_api_key(key_id: str, request: Request) -> dict[str, Any]:
    db = port_of(request).reader
    return queries.view(await _key_or_404(db, key_id))


@router.post("/{key_id}/rotate")
async def rotate_api_key(
    key_id: str, request: Request, body: RotateApiKeyBody | None = None
) -> dict[str, Any]:
    """A new secret for the key. With an `Idempotency-Key`, a retry rotates nothing."""
    port = port_of(request)
    idem = idempotency.key_of(request)
    digest = idempotency.request_hash(request, body) if idem else None
    key = generate(key_id)
    reply = await port.send(
        ROTATE_API_KEY,
        RotateApiKey(
            key_id=key_id,
            prefix=key.prefix,
            secret_hash=key.secret_hash,
            expires_at=_utc(body.expires_at) if body else None,
            idempotency_key=idem,
            request_hash=digest,
            meta=request_meta(request),
        ),
    )
    row = await _after(port, reply, key_id)
    rid = f"{key_id}/rotate/{idem}" if idem else None
    if reply.data.get("replayed") and rid is not None:
        return _replayed(
            request,
            rid,
            row,
            "rotated by an earlier request with this Idempotency-Key; the new"
            " secret was shown to that request only",
        )
    return _first(request, rid, _with_secret(queries.view(row), key))


@router.delete("/{key_id}")
async def revoke_api_key(key_id: str, request: Request) -> dict[str, Any]:
    port = port_of(request)
    reply = await port.send(REVOKE_API_KEY, RevokeApiKey(key_id=key_id, meta=request_meta(request)))
    return queries.view(await _after(port, reply, key_id))
