"""Webhook commands (`amas.cmd.webhook.*`), owned by the webhook registry."""

from __future__ import annotations

import msgspec

from events.envelope import Meta

CREATE_WEBHOOK = "amas.cmd.webhook.create"
UPDATE_WEBHOOK = "amas.cmd.webhook.update"
ROTATE_WEBHOOK_SECRET = "amas.cmd.webhook.rotate"
DELETE_WEBHOOK = "amas.cmd.webhook.delete"


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


WebhookCommand = CreateWebhook | UpdateWebhook | RotateWebhookSecret | DeleteWebhook
