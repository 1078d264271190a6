"""Webhook commands (`amas.cmd.webhook.*`), owned by the webhook registry."""

from __future__ import annotations

import msgspec

from events.envelope import Meta

CREATE_WEBHOOK = "amas.cmd.webhook.create"
UPDATE_WEBHOOK = "amas.cmd.webhook.update"
ROTATE_WEBHOOK_SECRET = "amas.cmd.webhook.rotate"
DELETE_WEBHOOK = "amas.cmd.webhook.delete"
TEST_WEBHOOK = "amas.cmd.webhook.test"
REDELIVER_WEBHOOK = "amas.cmd.webhook.redeliver"
SET_CALLBACK_SECRET = "amas.cmd.webhook.callback_secret"


class CreateWebhook(msgspec.Struct, frozen=True, kw_only=True, tag="webhook.create"):
    url: str
    events: list[str]
    secret: str | None = None
    """None: the registry makes a whsec_ secret, returned once."""
    description: str = ""
    meta: Meta = Meta()


class UpdateWebhook(msgspec.Struct, frozen=True, kw_only=True, tag="webhook.update"):
    webhook_id: str
    events: list[str] | None = None
    enabled: bool | None = None
    as_admin: bool = False
    """The edge says the requester is an admin: any webhook, not only its key's."""
    meta: Meta = Meta()


class RotateWebhookSecret(msgspec.Struct, frozen=True, kw_only=True, tag="webhook.rotate"):
    webhook_id: str
    as_admin: bool = False
    meta: Meta = Meta()


class DeleteWebhook(msgspec.Struct, frozen=True, kw_only=True, tag="webhook.delete"):
    webhook_id: str
    as_admin: bool = False
    meta: Meta = Meta()


class TestWebhook(msgspec.Struct, frozen=True, kw_only=True, tag="webhook.test"):
    webhook_id: str
    as_admin: bool = False
    meta: Meta = Meta()


class RedeliverWebhook(msgspec.Struct, frozen=True, kw_only=True, tag="webhook.redeliver"):
    webhook_id: str
    delivery_id: str
    event_id: str
    event_position: int
    attempt: int
    """The number this attempt gets (the delivery's attempts so far + 1)."""
    as_admin: bool = False
    meta: Meta = Meta()


class SetCallbackSecret(msgspec.Struct, frozen=True, kw_only=True, tag="webhook.callback_secret"):
    """Make the requesting key's `callback_url` secret: `replace` makes a new one (the
    old one still signs for a day); otherwise only when it has none. Answers the new
    secret once, or None. `callback_url`, when given, is checked against the allow-list."""

    replace: bool = False
    callback_url: str | None = None
    meta: Meta = Meta()


WebhookCommand = (
    CreateWebhook
    | UpdateWebhook
    | RotateWebhookSecret
    | DeleteWebhook
    | TestWebhook
    | RedeliverWebhook
    | SetCallbackSecret
)
