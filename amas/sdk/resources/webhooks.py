"""client.webhooks: register, change, test and inspect webhooks; the callback secret.

Checking a delivery's signature, on the receiving side, is `amas.sdk.webhooks.verify`.
"""

from __future__ import annotations

from collections.abc import Sequence

from amas.sdk._call import Req, body
from amas.sdk._endpoint import M, Resource, endpoint, listing
from amas.sdk._paging import Paged
from amas.sdk._parse import as_list, as_model, offset_list
from amas.sdk.models.webhooks import (
    CallbackSecret,
    Delivery,
    Webhook,
    WebhookDeletion,
    WebhookWithSecret,
)

_ATTEMPT_TIMEOUT = 40.0
"""A test or a redelivery answers once its attempt is recorded (up to 20 s)."""


def _id(webhook_id: str) -> dict[str, str]:
    return {"webhook_id": webhook_id}


class Webhooks(Resource[M]):
    prefix = "/webhooks"

    @endpoint("POST", "")
    def create(
        self,
        url: str,
        events: Sequence[str],
        *,
        secret: str | None = None,
        description: str | None = None,
    ) -> Req[WebhookWithSecret]:
        """Register `url` for `events` (`task.completed`, `task.*` ...), signed with
        `secret`; without one, a secret is made and shown this once, in `secret`."""
        return Req(
            as_model(WebhookWithSecret),
            json=body(url=url, events=list(events), secret=secret, description=description),
        )

    @endpoint("GET", "")
    def list(self) -> Req[list[Webhook]]:
        return Req(as_list("webhooks", Webhook))

    @endpoint("GET", "/{webhook_id}")
    def get(self, webhook_id: str) -> Req[Webhook]:
        return Req(as_model(Webhook), path_params=_id(webhook_id))

    @endpoint("PATCH", "/{webhook_id}")
    def update(
        self, webhook_id: str, *, events: Sequence[str] | None = None, enabled: bool | None = None
    ) -> Req[Webhook]:
        return Req(
            as_model(Webhook),
            path_params=_id(webhook_id),
            json=body(events=list(events) if events is not None else None, enabled=enabled),
        )

    @endpoint("DELETE", "/{webhook_id}")
    def delete(self, webhook_id: str) -> Req[WebhookDeletion]:
        return Req(as_model(WebhookDeletion), path_params=_id(webhook_id))

    @endpoint("POST", "/{webhook_id}/rotate-secret")
    def rotate_secret(self, webhook_id: str) -> Req[WebhookWithSecret]:
        """A new signing secret, shown once; the old one signs beside it for a while."""
        return Req(as_model(WebhookWithSecret), path_params=_id(webhook_id))

    @listing("GET", "/{webhook_id}/deliveries")
    def deliveries(self, webhook_id: str, *, limit: int = 20, offset: int = 0) -> Paged[Delivery]:
        """Each event's delivery to this webhook, newest first."""
        return offset_list(
            "deliveries", Delivery, {}, limit=limit, offset=offset, path_params=_id(webhook_id)
        )

    @endpoint("POST", "/{webhook_id}/test")
    def test(self, webhook_id: str) -> Req[Delivery]:
        """Send one signed `webhook.test` event; the answer says how it went."""
        return Req(as_model(Delivery), path_params=_id(webhook_id), timeout=_ATTEMPT_TIMEOUT)

    @endpoint("POST", "/{webhook_id}/deliveries/{delivery_id}/redeliver")
    def redeliver(self, webhook_id: str, delivery_id: str) -> Req[Delivery]:
        """One more attempt of a delivery; the answer says how it went."""
        return Req(
            as_model(Delivery),
            path_params={**_id(webhook_id), "delivery_id": delivery_id},
            timeout=_ATTEMPT_TIMEOUT,
        )

    @endpoint("POST", "/callback-secret")
    def rotate_callback_secret(self) -> Req[CallbackSecret]:
        """A new secret for this key's tasks' `callback_url` deliveries, shown once."""
        return Req(as_model(CallbackSecret))
