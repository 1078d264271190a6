"""/webhooks: register, list, change, rotate and delete webhooks.

Writes are commands to the webhook registry; reads come from the `webhooks` projection.
A webhook belongs to the API key that made it: another key sees 404 for it and does
not find it in its list; an admin key sees and changes every one. The signing secret
is shown once, in the answer that made it (or rotated it).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api.auth.scopes import READ, WRITE
from api.deps import port_of, request_meta
from api.errors import ApiError, check
from api.port import NodePort
from api.schemas import WebhookBody, WebhookPatchBody
from events.commands import (
    CREATE_WEBHOOK,
    DELETE_WEBHOOK,
    ROTATE_WEBHOOK_SECRET,
    UPDATE_WEBHOOK,
    CreateWebhook,
    DeleteWebhook,
    RotateWebhookSecret,
    UpdateWebhook,
)
from events.queries import webhooks as queries
from events.vocabulary import ErrorCode

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

_READ_YOUR_WRITES = 5.0


def _admin(request: Request) -> bool:
    principal = getattr(request.state, "principal", None)
    return bool(principal is not None and "admin" in principal.scopes)


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["webhook_id"],
        "url": row["url"],
        "events": row["events"],
        "enabled": bool(row["enabled"]),
        "disabled_reason": row["disabled_reason"],
        "description": row["description"],
        "secret_fingerprint": row["secret_fingerprint"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


async def _mine(request: Request, port: NodePort, webhook_id: str) -> dict[str, Any]:
    row = await queries.get_webhook(port.reader, webhook_id)
    if row is None:
        await port.wait_for(port.head, _READ_YOUR_WRITES, "webhooks")
        row = await queries.get_webhook(port.reader, webhook_id)
    owner = request_meta(request).api_key_id
    if row is None or not (_admin(request) or row["owner_key_id"] == owner):
        raise ApiError(
            ErrorCode.NOT_FOUND, f"webhook {webhook_id!r} not found", {"webhook_id": webhook_id}
        )
    return row


@router.post("", status_code=201, dependencies=[WRITE])
async def create_webhook(body: WebhookBody, request: Request) -> dict[str, Any]:
    port = port_of(request)
    command = CreateWebhook(
        url=body.url,
        events=body.events,
        secret=body.secret,
        description=body.description,
        meta=request_meta(request),
    )
    reply = check(await port.send(CREATE_WEBHOOK, command))
    await port.wait_for(reply.position, _READ_YOUR_WRITES, "webhooks")
    row = await _mine(request, port, reply.data["webhook_id"])
    return {**_view(row), "secret": reply.data.get("secret")}


@router.get("", dependencies=[READ])
async def list_webhooks(request: Request) -> dict[str, Any]:
    port = port_of(request)
    await port.wait_for(port.head, _READ_YOUR_WRITES, "webhooks")
    rows = await queries.list_webhooks(
        port.reader, request_meta(request).api_key_id, _admin(request)
    )
    return {"webhooks": [_view(row) for row in rows], "total": len(rows)}


@router.get("/{webhook_id}", dependencies=[READ])
async def get_webhook(webhook_id: str, request: Request) -> dict[str, Any]:
    return _view(await _mine(request, port_of(request), webhook_id))


@router.patch("/{webhook_id}", dependencies=[WRITE])
async def patch_webhook(
    webhook_id: str, body: WebhookPatchBody, request: Request
) -> dict[str, Any]:
    port = port_of(request)
    await _mine(request, port, webhook_id)
    if body.events is None and body.enabled is None:
        raise ApiError(ErrorCode.INVALID_REQUEST, "nothing to change: give events or enabled")
    command = UpdateWebhook(webhook_id=webhook_id, events=body.events, enabled=body.enabled,
                            as_admin=_admin(request), meta=request_meta(request))  # fmt: skip
    reply = check(await port.send(UPDATE_WEBHOOK, command))
    await port.wait_for(reply.position, _READ_YOUR_WRITES, "webhooks")
    return _view(await _mine(request, port, webhook_id))


@router.post("/{webhook_id}/rotate-secret", dependencies=[WRITE])
async def rotate_secret(webhook_id: str, request: Request) -> dict[str, Any]:
    port = port_of(request)
    await _mine(request, port, webhook_id)
    command = RotateWebhookSecret(
        webhook_id=webhook_id, as_admin=_admin(request), meta=request_meta(request)
    )
    reply = check(await port.send(ROTATE_WEBHOOK_SECRET, command))
    await port.wait_for(reply.position, _READ_YOUR_WRITES, "webhooks")
    return {**_view(await _mine(request, port, webhook_id)), "secret": reply.data["secret"]}


@router.delete("/{webhook_id}", dependencies=[WRITE])
async def delete_webhook(webhook_id: str, request: Request) -> dict[str, Any]:
    port = port_of(request)
    await _mine(request, port, webhook_id)
    command = DeleteWebhook(
        webhook_id=webhook_id, as_admin=_admin(request), meta=request_meta(request)
    )
    check(await port.send(DELETE_WEBHOOK, command))
    return {"id": webhook_id, "status": "deleted"}


@router.get("/{webhook_id}/deliveries", dependencies=[READ])
async def list_deliveries(
    webhook_id: str,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> dict[str, Any]:
    """Each delivery (an event to this webhook): attempts, last status, next attempt."""
    port = port_of(request)
    await _mine(request, port, webhook_id)
    await port.wait_for(port.head, _READ_YOUR_WRITES, "webhook_deliveries")
    rows, total = await queries.deliveries(port.reader, webhook_id, limit, offset)
    return {
        "webhook_id": webhook_id,
        "deliveries": rows,
        "total": total,
        "has_more": offset + len(rows) < total,
    }
