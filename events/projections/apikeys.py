"""The `api_keys` read model: every key's name, scopes, tier and state (never a secret)."""

from __future__ import annotations

from typing import ClassVar

from events.envelope import Event
from events.projections.base import Row, RowProjection
from events.projections.tasks import iso
from events.types import ApiKeyCreated, ApiKeyRevoked, ApiKeyRotated


class ApiKeysProjection(RowProjection):
    name: ClassVar[str] = "api_keys"
    version: ClassVar[int] = 2
    event_types: ClassVar[frozenset[str] | None] = frozenset(
        {"apikey.created", "apikey.rotated", "apikey.revoked"}
    )
    tables: ClassVar[tuple[str, ...]] = ("api_keys",)
    table: ClassVar[str] = "api_keys"
    key: ClassVar[str] = "key_id"
    columns: ClassVar[tuple[str, ...]] = (
        "key_id",
        "name",
        "prefix",
        "secret_hash",
        "scopes",
        "tier",
        "owner",
        "status",
        "created_at",
        "expires_at",
        "rotated_at",
        "revoked_at",
        "position",
        "version",
        "request_hash",
    )
    json_columns: ClassVar[frozenset[str]] = frozenset({"scopes"})

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS api_keys (
            key_id      TEXT PRIMARY KEY,
            name        TEXT NOT NULL,
            prefix      TEXT NOT NULL,
            secret_hash TEXT NOT NULL,
            scopes      TEXT NOT NULL,
            tier        TEXT NOT NULL,
            owner       TEXT,
            status      TEXT NOT NULL,
            created_at  TEXT NOT NULL,
            expires_at  TEXT,
            rotated_at  TEXT,
            revoked_at  TEXT,
            position    INTEGER NOT NULL,
            version     INTEGER NOT NULL,
            request_hash TEXT
        );
        """

    def creates(self, event: Event) -> bool:
        return event.type == "apikey.created"

    def key_of(self, event: Event) -> str | None:
        key_id: str = event.data.key_id
        return key_id

    def fold(self, row: Row | None, event: Event) -> Row | None:
        data, at = event.data, iso(event.ts)
        if isinstance(data, ApiKeyCreated):
            return {
                "key_id": data.key_id,
                "name": data.name,
                "prefix": data.prefix,
                "secret_hash": data.secret_hash,
                "scopes": data.scopes,
                "tier": data.tier,
                "owner": data.owner,
                "status": "active",
                "created_at": at,
                "expires_at": data.expires_at,
                "rotated_at": None,
                "revoked_at": None,
                "position": event.position,
                "version": event.version,
                "request_hash": data.request_hash,
            }
        if row is None:
            return None
        row["position"], row["version"] = event.position, event.version
        match data:
            case ApiKeyRotated(prefix=prefix, secret_hash=secret_hash, expires_at=expires_at):
                row.update(
                    prefix=prefix, secret_hash=secret_hash, rotated_at=at, expires_at=expires_at
                )
            case ApiKeyRevoked():
                row.update(status="revoked", revoked_at=at)
        return row
