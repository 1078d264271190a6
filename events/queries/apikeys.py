"""API key queries: read the `api_keys` projection (never the secrets' hashes out)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import aiosqlite

from events.projections.apikeys import ApiKeysProjection

_COLUMNS = ", ".join(ApiKeysProjection.columns)
_row = ApiKeysProjection.decode_row


def view(row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """What a client may see of a key: everything but the hash."""
    status = row["status"]
    if status == "active" and row["expires_at"] is not None:
        expires = datetime.fromisoformat(row["expires_at"])
        if expires <= (now or datetime.now(UTC)):
            status = "expired"
    return {
        "key_id": row["key_id"],
        "name": row["name"],
        "prefix": row["prefix"],
        "scopes": row["scopes"],
        "tier": row["tier"],
        "owner": row["owner"],
        "status": status,
        "created_at": row["created_at"],
        "expires_at": row["expires_at"],
        "rotated_at": row["rotated_at"],
        "revoked_at": row["revoked_at"],
    }


async def list_keys(db: aiosqlite.Connection) -> list[dict[str, Any]]:
    rows = await db.execute_fetchall(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at")
    return [_row(r) for r in rows]


async def get_key(db: aiosqlite.Connection, key_id: str) -> dict[str, Any] | None:
    rows = list(
        await db.execute_fetchall(f"SELECT {_COLUMNS} FROM api_keys WHERE key_id = ?", (key_id,))
    )
    return _row(rows[0]) if rows else None
