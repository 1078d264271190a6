"""AI provider queries: read the `providers` and `provider_usage` projections."""

from __future__ import annotations

from typing import Any

import aiosqlite
import msgspec

from events.projections.providers import ProvidersProjection

_COLUMNS = ", ".join(ProvidersProjection.columns)
_row = ProvidersProjection.decode_row


async def provider_rows(db: aiosqlite.Connection) -> dict[str, dict[str, Any]]:
    """Each provider that has a record (a call, a change), by id."""
    rows = await db.execute_fetchall(f"SELECT {_COLUMNS} FROM providers")
    return {row["provider"]: row for row in (_row(r) for r in rows)}


async def configuration_changes(db: aiosqlite.Connection) -> dict[str, dict[str, Any]]:
    """The operator's configuration changes, by provider."""
    rows = await db.execute_fetchall("SELECT provider, config FROM providers")
    return {provider: msgspec.json.decode(config) for provider, config in rows}


async def usage_by_key(
    db: aiosqlite.Connection, api_key_id: str | None = None
) -> list[dict[str, Any]]:
    """Calls, tokens and cost per API key and provider (one key's, if given)."""
    sql = (
        "SELECT api_key_id, provider, calls, prompt_tokens, completion_tokens, cost_usd"
        " FROM provider_usage"
    )
    params: tuple[Any, ...] = ()
    if api_key_id is not None:
        sql += " WHERE api_key_id = ?"
        params = (api_key_id,)
    rows = await db.execute_fetchall(sql + " ORDER BY api_key_id, provider", params)
    names = ("api_key_id", "provider", "calls", "prompt_tokens", "completion_tokens", "cost_usd")
    return [dict(zip(names, row, strict=True)) for row in rows]
