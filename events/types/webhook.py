"""Events of webhooks (stream `webhook-<id>`).

A webhook's signing secret never enters the log (anyone holding an export could forge
deliveries with it): the events carry its SHA-256 fingerprint; the secret itself is kept
in the node's secret store beside the log (actors/webhooks/secrets.py).
"""

from __future__ import annotations

from typing import ClassVar

from events.envelope import EventData


class WebhookCreated(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "webhook.created"

    webhook_id: str
    url: str
    events: list[str]
    """Event names or prefixes (`task.*`)."""
    owner_key_id: str | None
    """The API key that made it: only it (and admins) may see or change it."""
    secret_fingerprint: str
    description: str = ""


class WebhookUpdated(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "webhook.updated"

    webhook_id: str
    events: list[str] | None = None
    enabled: bool | None = None
    reason: str = ""


class WebhookSecretRotated(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "webhook.secret_rotated"

    webhook_id: str
    secret_fingerprint: str


class WebhookDeleted(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "webhook.deleted"

    webhook_id: str


class WebhookAttempted(EventData, frozen=True, kw_only=True):
    """One delivery attempt (stream `delivery-<webhook id>`): how it went and when the
    next comes. `delivery_id` is `<webhook id>:<event id>`; the event id is also the
    `webhook-id` header, the same on every attempt, for receivers to de-duplicate."""

    type_name: ClassVar[str] = "webhook.attempted"

    webhook_id: str
    delivery_id: str
    event_id: str
    event_type: str
    event_position: int
    """Where the delivered event is in the log (a resumed retry reads it there)."""
    attempt: int
    outcome: str
    """delivered, failed (a retry follows), gave_up (attempts ran out), refused (the
    URL is outside the allow-list now), disabled (410 Gone)."""
    status: int | None = None
    latency_ms: float = 0.0
    next_attempt_in: float | None = None
    error: str | None = None


class WebhookTested(EventData, frozen=True, kw_only=True):
    """`POST /webhooks/{id}/test`: one signed `webhook.test` delivery to this webhook
    only (even a disabled one, to check it before enabling it again), never retried."""

    type_name: ClassVar[str] = "webhook.test"

    webhook_id: str


class WebhookRedeliveryRequested(EventData, frozen=True, kw_only=True):
    """`POST /webhooks/{id}/deliveries/{delivery_id}/redeliver`: one more attempt of a
    delivery (numbered `attempt`), whatever its state; never retried by itself."""

    type_name: ClassVar[str] = "webhook.redeliver"

    webhook_id: str
    delivery_id: str
    event_id: str
    event_position: int
    attempt: int


class CallbackSecretSet(EventData, frozen=True, kw_only=True):
    """An API key's secret for its tasks' `callback_url` deliveries was made or replaced
    (stream `callback-<key id>`; the secret itself stays in the secret store)."""

    type_name: ClassVar[str] = "webhook.callback_secret"

    api_key_id: str | None
    secret_fingerprint: str
