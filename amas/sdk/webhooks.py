"""Check that a webhook delivery came from your AMAS node, on the receiving side.

Every delivery carries two proofs, both HMAC-SHA256 with the webhook's secret (the
`whsec_...` string shown once when it was made, or a callback secret):

* the Standard Webhooks headers: `webhook-id`, `webhook-timestamp` (unix seconds) and
  `webhook-signature`, `v1,<base64>` over `{id}.{timestamp}.{raw body}`, keyed by the
  base64 after `whsec_` (a secret you chose in another form: by its SHA-256). During a
  secret rotation it holds several space-separated signatures: any one will do.
  `verify()` checks these, and the timestamp's age.
* the seed's `signature` field in the body, `sha256=<hex>` over the body's canonical
  JSON without that field, keyed by the whole secret's UTF-8 bytes.
  `verify_signature_field()` checks it; prefer the headers (they sign the raw bytes).

    from amas.sdk.webhooks import verify
    event = verify(secret, request_body, request_headers)   # WebhookVerificationError if forged
    if event.event == "task.completed": ...
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from amas.sdk.errors import ResponseValidationError, WebhookVerificationError
from amas.sdk.models.webhooks import WebhookEvent

PREFIX = "whsec_"
DEFAULT_TOLERANCE = 300.0
"""Seconds a delivery's timestamp may be off from now (replays older than this fail)."""


def verify(
    secret: str,
    body: bytes | str,
    headers: Mapping[str, str],
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> WebhookEvent:
    """The delivery's event, once its Standard Webhooks headers check out; else
    WebhookVerificationError. `body` is the request's raw body, unparsed."""
    raw = body.encode() if isinstance(body, str) else body
    lowered = {name.lower(): value for name, value in headers.items()}
    try:
        msg_id = lowered["webhook-id"]
        stamp = lowered["webhook-timestamp"]
        signatures = lowered["webhook-signature"]
    except KeyError as e:
        raise WebhookVerificationError(f"the delivery has no {e.args[0]} header") from None
    try:
        sent_at = int(stamp)
    except ValueError:
        raise WebhookVerificationError(f"webhook-timestamp is not a number: {stamp!r}") from None
    if abs((time.time() if now is None else now) - sent_at) > tolerance:
        raise WebhookVerificationError(
            f"webhook-timestamp {sent_at} is more than {tolerance:g} s from now"
        )
    signed = f"{msg_id}.{sent_at}.".encode() + raw
    expected = base64.b64encode(hmac.new(_key(secret), signed, hashlib.sha256).digest())
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value.encode(), expected):
            return _event(raw)
    raise WebhookVerificationError("no signature in webhook-signature matches the secret")


def verify_signature_field(secret: str, payload: Mapping[str, Any] | bytes | str) -> WebhookEvent:
    """The event, once the body's own `signature` field (the seed's `sha256=...`)
    checks out; else WebhookVerificationError."""
    data = json.loads(payload) if isinstance(payload, bytes | str) else dict(payload)
    if not isinstance(data, dict):
        raise WebhookVerificationError("the payload is not a JSON object")
    given = data.get("signature")
    if not isinstance(given, str):
        raise WebhookVerificationError("the payload has no signature field")
    unsigned = {key: value for key, value in data.items() if key != "signature"}
    canonical = json.dumps(unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hmac.new(secret.encode(), canonical.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(given, "sha256=" + digest):
        raise WebhookVerificationError("the payload's signature does not match the secret")
    return WebhookEvent.from_dict(data)


def _key(secret: str) -> bytes:
    if not secret.startswith(PREFIX):  # one you chose: the node keys it by its SHA-256
        return hashlib.sha256(secret.encode()).digest()
    encoded = secret.removeprefix(PREFIX)
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise WebhookVerificationError("a webhook secret is whsec_ followed by base64") from None


def _event(raw: bytes) -> WebhookEvent:
    try:
        return WebhookEvent.from_dict(json.loads(raw))
    except (ValueError, ResponseValidationError) as e:
        raise WebhookVerificationError(f"the signed body is not a webhook event: {e}") from e
