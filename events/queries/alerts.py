"""Alert queries: read the `alerts` projection."""

from __future__ import annotations

from typing import Any

import aiosqlite

from events.projections.alerts import AlertsProjection

_COLUMNS = ", ".join(AlertsProjection.columns)
_row = AlertsProjection.decode_row


async def active_alerts(db: aiosqlite.Connection) -> list[dict[str, Any]]:
    """The alerts raised and not cleared since, oldest first."""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM alerts WHERE active = 1 ORDER BY position"
    )
    return [_row(r) for r in rows]
