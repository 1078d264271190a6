"""Webhook queries: read the `webhooks` projection (a key sees its own; admins all)."""

from __future__ import annotations

from typing import Any

import aiosqlite

from events.projections.webhooks import WebhooksProjection

_COLUMNS = ", ".join(WebhooksProjection.columns)
_row = WebhooksProjection.decode_row


async def get_webhook(db: aiosqlite.Connection, webhook_id: str) -> dict[str, Any] | None:
    rows = list(
        await db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM webhooks WHERE webhook_id = ?", (webhook_id,)
        )
    )
    return _row(rows[0]) if rows else None


async def list_webhooks(
    db: aiosqlite.Connection, owner_key_id: str | None, everyone: bool
) -> list[dict[str, Any]]:
    """The webhooks `owner_key_id` made (every one, for an admin)."""
    if everyone:
        rows = await db.execute_fetchall(f"SELECT {_COLUMNS} FROM webhooks ORDER BY created_at")
    else:
        rows = await db.execute_fetchall(
            f"SELECT {_COLUMNS} FROM webhooks WHERE owner_key_id IS ? ORDER BY created_at",
            (owner_key_id,),
        )
    return [_row(r) for r in rows]


_SHOWN = ("delivery_id", "event_id", "event_type", "status", "attempts", "last_status",
          "last_error", "latency_ms", "next_attempt_at", "created_at", "updated_at")  # fmt: skip
"""A delivery as the API shows it."""


async def deliveries(
    db: aiosqlite.Connection, webhook_id: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """A webhook's deliveries, newest first."""
    names = _SHOWN
    total = list(
        await db.execute_fetchall(
            "SELECT count(*) FROM webhook_deliveries WHERE webhook_id = ?", (webhook_id,)
        )
    )
    rows = await db.execute_fetchall(
        f"SELECT {', '.join(names)} FROM webhook_deliveries WHERE webhook_id = ?"
        " ORDER BY updated_at DESC LIMIT ? OFFSET ?",
        (webhook_id, limit, offset),
    )
    return [dict(zip(names, r, strict=True)) for r in rows], int(total[0][0])


async def pending_deliveries(db: aiosqlite.Connection) -> list[dict[str, Any]]:
    """Deliveries waiting for a retry (after a restart: each goes on at its time)."""
    rows = await db.execute_fetchall(
        "SELECT delivery_id, webhook_id, event_id, event_position, attempts, next_attempt_at"
        " FROM webhook_deliveries WHERE status = 'pending'"
    )
    names = ("delivery_id", "webhook_id", "event_id", "event_position", "attempts",
             "next_attempt_at")  # fmt: skip
    return [dict(zip(names, r, strict=True)) for r in rows]


async def attempts(db: aiosqlite.Connection, delivery_ids: list[str]) -> dict[str, int]:
    """Of `delivery_ids`, those with a recorded attempt, and how many (the last one's
    number): their fate is in the log."""
    if not delivery_ids:
        return {}
    marks = ", ".join("?" for _ in delivery_ids)
    rows = await db.execute_fetchall(
        f"SELECT delivery_id, attempts FROM webhook_deliveries WHERE delivery_id IN ({marks})",
        delivery_ids,
    )
    return {r[0]: int(r[1]) for r in rows}


async def delivery(
    db: aiosqlite.Connection, webhook_id: str, delivery_id: str
) -> dict[str, Any] | None:
    """One delivery as shown, and where its event is in the log (`event_position`)."""
    names = (*_SHOWN, "event_position")
    rows = list(
        await db.execute_fetchall(
            f"SELECT {', '.join(names)} FROM webhook_deliveries"
            " WHERE webhook_id = ? AND delivery_id = ?",
            (webhook_id, delivery_id),
        )
    )
    return dict(zip(names, rows[0], strict=True)) if rows else None


async def task_callbacks(
    db: aiosqlite.Connection, task_id: str | None = None
) -> list[dict[str, Any]]:
    """Unfinished tasks with a `callback_url` (or the one task `task_id`, finished or
    not): the deliverer's callbacks at start, or one a pending retry needs."""
    names = ("task_id", "callback_url", "api_key_id")
    select = f"SELECT {', '.join(names)} FROM tasks WHERE callback_url IS NOT NULL"
    if task_id is None:
        rows = await db.execute_fetchall(
            f"{select} AND parent_id IS NULL AND status IN ('queued', 'in_progress')"
        )
    else:
        rows = await db.execute_fetchall(f"{select} AND task_id = ?", (task_id,))
    return [dict(zip(names, r, strict=True)) for r in rows]


class DeliveryReads:
    """What the deliverer reads from the read models, on one connection."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db

    async def webhooks(self) -> list[dict[str, Any]]:
        return await list_webhooks(self.db, None, everyone=True)

    async def pending(self) -> list[dict[str, Any]]:
        return await pending_deliveries(self.db)

    async def attempts(self, delivery_ids: list[str]) -> dict[str, int]:
        return await attempts(self.db, delivery_ids)

    async def callbacks(self, task_id: str | None = None) -> list[dict[str, Any]]:
        return await task_callbacks(self.db, task_id)
