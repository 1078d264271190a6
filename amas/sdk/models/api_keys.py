"""API keys: what a client may see of one, and the secret shown once."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from amas.sdk.models._base import Model


@dataclass(frozen=True, kw_only=True)
class ApiKey(Model):
    key_id: str
    name: str
    prefix: str
    scopes: list[str] = field(default_factory=list)
    tier: str = "free"
    owner: str | None = None
    status: str = "active"
    """active, expired or revoked."""
    created_at: datetime | None = None
    expires_at: datetime | None = None
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class ApiKeyWithSecret(ApiKey):
    """A key just made or rotated. `api_key` is the raw key, shown only to the request
    that made it (a retry with the same Idempotency-Key may get None, and `message` says
    why)."""

    api_key: str | None = None
    message: str = ""
