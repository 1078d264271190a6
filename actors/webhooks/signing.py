"""What a webhook delivery carries to prove it came from us: Standard Webhooks headers
and the seed's `signature` field.

* Headers (Standard Webhooks v1, symmetric): `webhook-id` (the same on every retry: the
  receiver's idempotency key), `webhook-timestamp` (unix seconds of this attempt) and
  `webhook-signature`, `v1,<base64 HMAC-SHA256>` over `{id}.{timestamp}.{body}` keyed by the
  base64-decoded part of a `whsec_` secret. During a rotation it holds several signatures,
  space-separated: receivers holding the old secret or the new one both verify.
* The seed's payload (`{"event", "timestamp", "data", "signature"}`) signs itself in its
  `signature` field, `sha256=<hex HMAC-SHA256>` over the payload's canonical JSON without
  that field (`canonical()`). Its key is the whole secret string's UTF-8 bytes, as GitHub
  keys `X-Hub-Signature-256`: any secret an operator types works, and a receiver needs no
  base64 step. The JSON is Python's `json.dumps` recipe; a receiver in another language
  should check the headers instead (their signature is over the raw bytes, not a rendering).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from typing import Any

PREFIX = "whsec_"
SECRET_BYTES = 32
MIN_KEY_BYTES, MAX_KEY_BYTES = 24, 64
"""Standard Webhooks: a symmetric secret is 24 to 64 random bytes."""


def new_secret() -> str:
    """A fresh endpoint secret: `whsec_` + base64 of 32 random bytes."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signing_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_` secret; ValueError if it is not one the spec allows.

    Padding may be left off, as the reference library allows; anything else that is not
    base64 is refused rather than skipped (the library's lenient decode would sign with a
    key the operator never chose).
    """
    if not secret.startswith(PREFIX):
        raise ValueError(f"a webhook secret starts with {PREFIX!r}")
    encoded = secret.removeprefix(PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except binascii.Error:
        raise ValueError("a webhook secret is whsec_ followed by base64") from None
    if not MIN_KEY_BYTES <= len(key) <= MAX_KEY_BYTES:
        raise ValueError(
            f"a webhook secret holds {MIN_KEY_BYTES}-{MAX_KEY_BYTES} bytes, not {len(key)}"
        )
    return key


def signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC-SHA256(key, "{msg_id}.{timestamp}." + body)>`."""
    if not msg_id or "." in msg_id or not msg_id.isprintable() or " " in msg_id:
        raise ValueError(f"a webhook id is printable, without dots or spaces: {msg_id!r}")
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def standard_headers(
    secret: str, msg_id: str, timestamp: int, body: bytes, *, previous: Sequence[str] = ()
) -> dict[str, str]:
    """The three Standard Webhooks headers of one attempt. `previous`: secrets being
    rotated out, signed too until every receiver holds the new one."""
    signatures = [signature(s, msg_id, timestamp, body) for s in (secret, *previous)]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
    }


def canonical(value: Any) -> bytes:
    """The one JSON rendering the seed's signature is computed over."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def seed_signature(secret: str, payload: dict[str, Any]) -> str:
    """The seed's `signature` field: `sha256=` + hex HMAC-SHA256 keyed by the secret's
    UTF-8 bytes over `canonical(payload)` without its `signature` key."""
    unsigned = {key: value for key, value in payload.items() if key != "signature"}
    return "sha256=" + hmac.new(secret.encode(), canonical(unsigned), hashlib.sha256).hexdigest()


def payload(event_type: str, timestamp: str, data: dict[str, Any], secret: str) -> bytes:
    """The seed's webhook body, signed: what a delivery POSTs."""
    body: dict[str, Any] = {"event": event_type, "timestamp": timestamp, "data": data}
    body["signature"] = seed_signature(secret, body)
    return canonical(body)
