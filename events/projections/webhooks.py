"""The webhooks' read model: one row per webhook (never its secret: a fingerprint)."""

from __future__ import annotations

from typing import ClassVar

from events.envelope import Event
from events.projections.base import Row, RowProjection
from events.projections.tasks import iso
from events.types import (
    WebhookAttempted,
    WebhookCreated,
    WebhookDeleted,
    WebhookSecretRotated,
    WebhookUpdated,
)


class WebhooksProjection(RowProjection):
    """`failing_since`: when the first failed attempt since the last delivered one was
    recorded (the deliverer disables a webhook failing for 5 days)."""

    name: ClassVar[str] = "webhooks"
    version: ClassVar[int] = 2
    event_types: ClassVar[frozenset[str] | None] = frozenset(
        {"webhook.created", "webhook.updated", "webhook.secret_rotated", "webhook.deleted",
         "webhook.attempted"}
    )  # fmt: skip
    tables: ClassVar[tuple[str, ...]] = ("webhooks",)
    indexes: ClassVar[tuple[str, ...]] = (
        "CREATE INDEX IF NOT EXISTS webhooks_owner ON webhooks (owner_key_id, created_at)",
    )
    table: ClassVar[str] = "webhooks"
    key: ClassVar[str] = "webhook_id"
    columns: ClassVar[tuple[str, ...]] = (
        "webhook_id",
        "url",
        "events",
        "enabled",
        "disabled_reason",
        "owner_key_id",
        "secret_fingerprint",
        "description",
        "failing_since",
        "created_at",
        "updated_at",
    )
    json_columns: ClassVar[frozenset[str]] = frozenset({"events"})

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS webhooks (
            webhook_id         TEXT PRIMARY KEY,
            url                TEXT NOT NULL,
            events             TEXT NOT NULL,
            enabled            INTEGER NOT NULL,
            disabled_reason    TEXT,
            owner_key_id       TEXT,
            secret_fingerprint TEXT NOT NULL,
            description        TEXT NOT NULL,
            failing_since      REAL,
            created_at         TEXT NOT NULL,
            updated_at         TEXT NOT NULL
        );
        """

    def creates(self, event: Event) -> bool:
        return event.type == "webhook.created"

    def key_of(self, event: Event) -> str | None:
        data = event.data
        if isinstance(data, WebhookAttempted) and (
            data.outcome not in ("delivered", "failed", "gave_up") or data.webhook_id[:3] == "cb-"
        ):
            return None  # a task callback's, or one that says nothing of the endpoint
        webhook_id: str = data.webhook_id
        return webhook_id

    def fold(self, row: Row | None, event: Event) -> Row | None:
        data, at = event.data, iso(event.ts)
        if isinstance(data, WebhookAttempted):
            if row is not None and data.outcome == "delivered":
                row["failing_since"] = None
            elif row is not None:
                row["failing_since"] = row["failing_since"] or event.ts.timestamp()
            return row
        if isinstance(data, WebhookCreated):
            return {
                "webhook_id": data.webhook_id,
                "url": data.url,
                "events": data.events,
                "enabled": True,
                "disabled_reason": None,
                "owner_key_id": data.owner_key_id,
                "secret_fingerprint": data.secret_fingerprint,
                "description": data.description,
                "failing_since": None,
                "created_at": at,
                "updated_at": at,
            }
        if row is None:
            return None
        row["updated_at"] = at
        match data:
            case WebhookUpdated(events=events, enabled=enabled, reason=reason):
                if events is not None:
                    row["events"] = events
                if enabled is not None:
                    row["enabled"] = enabled
                    row["disabled_reason"] = None if enabled else reason
                    row["failing_since"] = None
            case WebhookSecretRotated(secret_fingerprint=secret_fingerprint):
                row["secret_fingerprint"] = secret_fingerprint
            case WebhookDeleted():
                return None
        return row


class WebhookDeliveriesProjection(RowProjection):
    """One row per delivery (a webhook and an event): its attempts and where it stands."""

    name: ClassVar[str] = "webhook_deliveries"
    version: ClassVar[int] = 1
    event_types: ClassVar[frozenset[str] | None] = frozenset({"webhook.attempted"})
    tables: ClassVar[tuple[str, ...]] = ("webhook_deliveries",)
    indexes: ClassVar[tuple[str, ...]] = (
        "CREATE INDEX IF NOT EXISTS deliveries_by ON webhook_deliveries (webhook_id, updated_at)",
        "CREATE INDEX IF NOT EXISTS deliveries_status ON webhook_deliveries (status)",
    )
    table: ClassVar[str] = "webhook_deliveries"
    key: ClassVar[str] = "delivery_id"
    columns: ClassVar[tuple[str, ...]] = (
        "delivery_id",
        "webhook_id",
        "event_id",
        "event_type",
        "event_position",
        "status",
        "attempts",
        "last_status",
        "last_error",
        "latency_ms",
        "next_attempt_at",
        "created_at",
        "updated_at",
    )

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS webhook_deliveries (
            delivery_id     TEXT PRIMARY KEY,
            webhook_id      TEXT NOT NULL,
            event_id        TEXT NOT NULL,
            event_type      TEXT NOT NULL,
            event_position  INTEGER NOT NULL,
            status          TEXT NOT NULL,
            attempts        INTEGER NOT NULL,
            last_status     INTEGER,
            last_error      TEXT,
            latency_ms      REAL NOT NULL,
            next_attempt_at REAL,
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL
        );
        """

    def key_of(self, event: Event) -> str | None:
        delivery_id: str = event.data.delivery_id
        return delivery_id

    def fold(self, row: Row | None, event: Event) -> Row | None:
        data, at = event.data, iso(event.ts)
        assert isinstance(data, WebhookAttempted)
        row = row or {
            "delivery_id": data.delivery_id,
            "webhook_id": data.webhook_id,
            "event_id": data.event_id,
            "event_type": data.event_type,
            "event_position": data.event_position,
            "created_at": at,
        }
        status = data.outcome
        if data.outcome == "failed":  # a one-off attempt (a test, a redelivery) has no next
            status = "pending" if data.next_attempt_in is not None else "failed"
        row.update(
            status=status,
            attempts=data.attempt,
            last_status=data.status,
            last_error=data.error,
            latency_ms=data.latency_ms,
            next_attempt_at=event.ts.timestamp() + data.next_attempt_in
            if data.next_attempt_in is not None
            else None,
            updated_at=at,
        )
        return row
