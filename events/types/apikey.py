"""Events of API keys (stream `apikey-<key_id>`).

The raw key never enters the log: only its SHA-256, which is enough to check a key
a client presents and useless for making one.
"""

from __future__ import annotations

from typing import ClassVar

from events.envelope import EventData


class ApiKeyCreated(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "apikey.created"

    key_id: str
    name: str
    prefix: str
    """The readable start of the key (`amas_<key_id>`), for people to tell keys apart."""
    secret_hash: str
    """sha256 of the whole raw key, hex."""
    scopes: list[str]
    tier: str
    owner: str | None = None
    expires_at: str | None = None
    """UTC, ISO 8601; None for a key that does not expire."""
    request_hash: str | None = None
    """Of the request that made it, when it carried an Idempotency-Key."""


class ApiKeyRotated(EventData, frozen=True, kw_only=True):
    """The key got a new secret; the old one stops working at once."""

    type_name: ClassVar[str] = "apikey.rotated"

    key_id: str
    prefix: str
    secret_hash: str
    expires_at: str | None = None
    idempotency_key: str | None = None
    request_hash: str | None = None


class ApiKeyRevoked(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "apikey.revoked"

    key_id: str
    reason: str = "revoked by request"
