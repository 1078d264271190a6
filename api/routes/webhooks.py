"""/webhooks: register, list, change, rotate and delete webhooks.

Writes are commands to the webhook registry; reads come from the `webhooks` projection.
A webhook belongs to the API key that made it: another key sees 404 for it and does
not find it in its list; an admin key sees and changes every one. The signing secret
is shown once, in the answer that made it (or rotated it).
"""

from __future__ import annotations

import asyncio
import time
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
    REDELIVER_WEBHOOK,
    ROTATE_WEBHOOK_SECRET,
    SET_CALLBACK_SECRET,
    TEST_WEBHOOK,
    UPDATE_WEBHOOK,
    CreateWebhook,
    DeleteWebhook,
    RedeliverWebhook,
    RotateWebhookSecret,
    SetCallbackSecret,
    TestWebhook,
    UpdateWebhook,
)
from events.queries import webhooks as queries
from events.vocabulary import ErrorCode

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

_READ_YOUR_WRITES = 5.0
_ATTEMPT_WAIT = 20.0
"""How long a test or a redelivery waits for its attempt: the transport's 15 s timeout
and the time to record it."""


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


@router.post("/callback-secret", dependencies=[WRITE])
async def replace_callback_secret(request: Request) -> dict[str, Any]:
    """A new secret for this key's tasks' `callback_url` deliveries, shown once; the
    old one still signs (beside it) for a day."""
    port = port_of(request)
    command = SetCallbackSecret(replace=True, meta=request_meta(request))
    reply = check(await port.send(SET_CALLBACK_SECRET, command))
    return {"secret": reply.data["secret"]}


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


@router.post("/{webhook_id}/test", dependencies=[WRITE])
async def test_webhook(webhook_id: str, request: Request) -> dict[str, Any]:
    """Send one signed `webhook.test` event to this webhook (even a disabled one) and
    answer how it went: delivered, failed or refused, with the endpoint's status."""
    port = port_of(request)
    await _mine(request, port, webhook_id)
    command = TestWebhook(
        webhook_id=webhook_id, as_admin=_admin(request), meta=request_meta(request)
    )
    reply = check(await port.send(TEST_WEBHOOK, command))
    event_id = reply.data["event_id"]
    return await _attempt_view(port, webhook_id, f"{webhook_id}:{event_id}", 1)


@router.post("/{webhook_id}/deliveries/{delivery_id}/redeliver", dependencies=[WRITE])
async def redeliver(webhook_id: str, delivery_id: str, request: Request) -> dict[str, Any]:
    """One more attempt of a delivery, whatever its state (a failed attempt here is not
    retried by itself); answers how it went."""
    port = port_of(request)
    await _mine(request, port, webhook_id)
    row = await queries.delivery(port.reader, webhook_id, delivery_id)
    if row is None:
        raise ApiError(
            ErrorCode.NOT_FOUND,
            f"delivery {delivery_id!r} of webhook {webhook_id!r} not found",
            {"webhook_id": webhook_id, "delivery_id": delivery_id},
        )
    attempt = int(row["attempts"]) + 1
    command = RedeliverWebhook(
        webhook_id=webhook_id,
        delivery_id=delivery_id,
        event_id=row["event_id"],
        event_position=row["event_position"],
        attempt=attempt,
        as_admin=_admin(request),
        meta=request_meta(request),
    )
    check(await port.send(REDELIVER_WEBHOOK, command))
    return await _attempt_view(port, webhook_id, delivery_id, attempt)


async def _attempt_view(
    port: NodePort, webhook_id: str, delivery_id: str, attempt: int
) -> dict[str, Any]:
    """The delivery once its attempt number `attempt` is recorded (or, if it takes
    longer than the endpoint's timeout, where it stands: `status` pending)."""
    deadline = time.monotonic() + _ATTEMPT_WAIT
    while True:
        row = await queries.delivery(port.reader, webhook_id, delivery_id)
        if (row is not None and row["attempts"] >= attempt) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.02)
    view = {key: value for key, value in (row or {}).items() if key != "event_position"}
    if row is None or row["attempts"] < attempt:
        view.update(delivery_id=delivery_id, status="sending", attempts=attempt - 1)
    return view
