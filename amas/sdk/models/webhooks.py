"""Webhooks: registrations, deliveries, and what a receiver gets."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from amas.sdk.models._base import Model


@dataclass(frozen=True, kw_only=True)
class Webhook(Model):
    id: str
    url: str
    events: list[str] = field(default_factory=list)
    enabled: bool = True
    disabled_reason: str | None = None
    description: str = ""
    secret_fingerprint: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class WebhookWithSecret(Webhook):
    """A webhook just made or given a new secret: `secret` is shown this once."""

    secret: str | None = None


@dataclass(frozen=True, kw_only=True)
class WebhookDeletion(Model):
    id: str
    status: str


@dataclass(frozen=True, kw_only=True)
class CallbackSecret(Model):
    secret: str


@dataclass(frozen=True, kw_only=True)
class Delivery(Model):
    """One event's delivery to one webhook: its attempts and where it stands."""

    delivery_id: str
    status: str
    """delivered, pending, failed, refused or sending."""
    attempts: int = 0
    event_id: str | None = None
    event_type: str | None = None
    webhook_id: str | None = None
    last_status: int | None = None
    last_error: str | None = None
    latency_ms: float | None = None
    next_attempt_at: float | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class WebhookEvent(Model):
    """A delivery's body, as a receiver gets it: the seed's payload."""

    event: str
    timestamp: datetime
    data: dict[str, Any] = field(default_factory=dict)
    signature: str | None = None
