"""Webhook signatures, checked by the `standardwebhooks` library (an implementation no one
here wrote) and by the seed's recipe recomputed by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from actors.webhooks.signing import (
    new_secret,
    payload,
    seed_signature,
    signature,
    signing_key,
    standard_headers,
)

BODY = b'{"event":"task.completed","data":{"task_id":"task-1"}}'


def test_headers_verify_with_the_reference_library() -> None:
    secret = new_secret()
    headers = standard_headers(secret, "evt_01J0ABC", int(time.time()), BODY)

    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)


def test_the_signature_is_the_reference_librarys_byte_for_byte() -> None:
    secret = new_secret()
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    ours = signature(secret, "evt_1", int(at.timestamp()), BODY)

    assert ours == Webhook(secret).sign("evt_1", at, BODY)


def test_a_wrong_secret_or_a_changed_body_fails_verification() -> None:
    secret = new_secret()
    headers = standard_headers(secret, "evt_1", int(time.time()), BODY)

    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"task-1", b"task-2"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "evt_2"})


def test_during_a_rotation_both_secrets_verify_and_no_other() -> None:
    old, new = new_secret(), new_secret()
    headers = standard_headers(new, "evt_1", int(time.time()), BODY, previous=[old])

    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(new).verify(BODY, headers)
    Webhook(old).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_a_new_secret_is_whsec_and_32_random_bytes() -> None:
    first, second = new_secret(), new_secret()

    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32
    assert signing_key(first) == base64.b64decode(first.removeprefix("whsec_"))


def test_a_secret_without_its_base64_padding_signs_as_the_library_does() -> None:
    secret = "whsec_" + base64.b64encode(bytes(range(25))).decode().rstrip("=")
    at = datetime.now(UTC)

    assert signature(secret, "evt_1", int(at.timestamp()), BODY) == Webhook(secret).sign(
        "evt_1", at, BODY
    )


@pytest.mark.parametrize(
    ("secret", "why"),
    [
        ("your-webhook-secret", "starts with 'whsec_'"),
        ("whsec_not base64!", "followed by base64"),
        ("whsec_" + base64.b64encode(bytes(16)).decode(), "not 16"),
        ("whsec_" + base64.b64encode(bytes(65)).decode(), "not 65"),
    ],
)
def test_a_secret_the_spec_does_not_allow_is_refused(secret: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        standard_headers(secret, "evt_1", 1, BODY)


@pytest.mark.parametrize("msg_id", ["", "evt.1", "evt 1", "evt\r\nx: y"])
def test_an_id_that_would_change_what_is_signed_is_refused(msg_id: str) -> None:
    with pytest.raises(ValueError, match="webhook id"):
        standard_headers(new_secret(), msg_id, 1, BODY)


def _by_hand(secret: str, fields: dict[str, object]) -> str:
    """The seed signature from its documented recipe, written out again."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256=" + hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def test_the_payloads_signature_is_the_documented_recipe() -> None:
    secret = "your-webhook-secret"
    data = {"task_id": "task-abc123", "status": "completed", "note": "résumé ✓"}

    body = json.loads(payload("task.completed", "2025-01-07T12:25:00Z", data, secret))

    assert body.keys() == {"event", "timestamp", "data", "signature"}
    claimed = body.pop("signature")
    assert claimed == _by_hand(secret, body)
    assert body == {"event": "task.completed", "timestamp": "2025-01-07T12:25:00Z", "data": data}


def test_the_seed_signature_ignores_its_own_field_and_key_order_but_not_the_data() -> None:
    secret = new_secret()
    fields = {"event": "task.failed", "timestamp": "2025-01-07T12:25:00Z", "data": {"a": 1}}
    signed = seed_signature(secret, fields)

    reordered = {"data": {"a": 1}, "signature": "sha256=old", **fields}
    assert seed_signature(secret, reordered) == signed == _by_hand(secret, fields)
    assert seed_signature(secret, {**fields, "data": {"a": 2}}) != signed
    assert seed_signature(secret + "x", fields) != signed
