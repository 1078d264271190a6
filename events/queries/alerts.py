"""Alert queries: read the `alerts` projection."""

from __future__ import annotations

import aiosqlite

from events.projections.alerts import AlertsProjection
from events.types import SystemAlerted

_COLUMNS = ", ".join(AlertsProjection.columns)
_row = AlertsProjection.decode_row


async def active_alerts(db: aiosqlite.Connection) -> list[SystemAlerted]:
    """The alerts raised and not cleared since, as raised, oldest first."""
    rows = await db.execute_fetchall(
        f"SELECT {_COLUMNS} FROM alerts WHERE active = 1 ORDER BY position"
    )
    return [
        SystemAlerted(
            level=row["level"],
            code=row["code"],
            message=row["message"],
            details=row["details"],
            subject=row["subject"],
        )
        for row in map(_row, rows)
    ]
