"""API key commands (`amas.cmd.apikey.*`), owned by the key commands actor.

The caller makes the key and keeps the raw secret: only its hash travels.
"""

from __future__ import annotations

import msgspec

from events.envelope import Meta
from events.keys import NewKey, generate

CREATE_API_KEY = "amas.cmd.apikey.create"
ROTATE_API_KEY = "amas.cmd.apikey.rotate"
REVOKE_API_KEY = "amas.cmd.apikey.revoke"


class CreateApiKey(msgspec.Struct, frozen=True, kw_only=True, tag="apikey.create"):
    key_id: str
    name: str
    prefix: str
    secret_hash: str
    scopes: list[str]
    tier: str
    owner: str | None = None
    expires_at: str | None = None
    request_hash: str | None = None
    """Set when the request carried an Idempotency-Key (the key id is derived from it)."""
    meta: Meta = Meta()


class RotateApiKey(msgspec.Struct, frozen=True, kw_only=True, tag="apikey.rotate"):
    key_id: str
    prefix: str
    secret_hash: str
    expires_at: str | None = None
    """The new expiry; None keeps the key's current one."""
    idempotency_key: str | None = None
    request_hash: str | None = None
    meta: Meta = Meta()


class RevokeApiKey(msgspec.Struct, frozen=True, kw_only=True, tag="apikey.revoke"):
    key_id: str
    reason: str = "revoked by request"
    meta: Meta = Meta()


ApiKeyCommand = CreateApiKey | RotateApiKey | RevokeApiKey


def create_command(
    name: str,
    scopes: list[str],
    tier: str,
    owner: str | None = None,
    expires_at: str | None = None,
    meta: Meta | None = None,
    key_id: str | None = None,
    request_hash: str | None = None,
) -> tuple[NewKey, CreateApiKey]:
    """A new key and the command recording it; the raw key stays with the caller."""
    key = generate(key_id)
    return key, CreateApiKey(
        key_id=key.key_id,
        name=name,
        prefix=key.prefix,
        secret_hash=key.secret_hash,
        scopes=sorted(set(scopes)),
        tier=tier,
        owner=owner,
        expires_at=expires_at,
        request_hash=request_hash,
        meta=meta or Meta(),
    )
