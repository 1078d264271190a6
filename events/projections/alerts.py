"""The `alerts` read model: the latest `system.alert` of each (code, subject), and
whether it is still active (raised and not cleared since).

The alert monitor reads the active ones at start, so that after a restart it neither
raises an alert again nor forgets to clear it.
"""

from __future__ import annotations

from typing import ClassVar

from events.envelope import Event
from events.projections.base import Row, RowProjection
from events.projections.tasks import iso
from events.types import SystemAlerted

LEGACY_CLEARS = {"NATS_RECOVERED": "NATS_DOWN"}
"""Recoveries written under a code of their own before alerts had `cleared`."""


def alert_id(code: str, subject: str) -> str:
    return f"{code}/{subject}"


class AlertsProjection(RowProjection):
    name: ClassVar[str] = "alerts"
    version: ClassVar[int] = 1
    event_types: ClassVar[frozenset[str] | None] = frozenset({"system.alert"})
    tables: ClassVar[tuple[str, ...]] = ("alerts",)
    indexes: ClassVar[tuple[str, ...]] = (
        "CREATE INDEX IF NOT EXISTS alerts_active ON alerts (active, code)",
    )
    table: ClassVar[str] = "alerts"
    key: ClassVar[str] = "alert_id"
    columns: ClassVar[tuple[str, ...]] = (
        "alert_id",
        "code",
        "subject",
        "level",
        "message",
        "details",
        "active",
        "raised_at",
        "cleared_at",
        "position",
    )
    json_columns: ClassVar[frozenset[str]] = frozenset({"details"})

    def schema(self) -> str:
        return """
        CREATE TABLE IF NOT EXISTS alerts (
            alert_id   TEXT PRIMARY KEY,
            code       TEXT NOT NULL,
            subject    TEXT NOT NULL,
            level      TEXT NOT NULL,
            message    TEXT NOT NULL,
            details    TEXT NOT NULL,
            active     INTEGER NOT NULL,
            raised_at  TEXT,
            cleared_at TEXT,
            position   INTEGER NOT NULL
        );
        """

    def key_of(self, event: Event) -> str | None:
        data: SystemAlerted = event.data
        return alert_id(LEGACY_CLEARS.get(data.code, data.code), data.subject)

    def fold(self, row: Row | None, event: Event) -> Row | None:
        data: SystemAlerted = event.data
        at = iso(event.ts)
        code = LEGACY_CLEARS.get(data.code, data.code)
        cleared = data.cleared or code != data.code
        row = row or {"raised_at": None, "cleared_at": None}
        row.update(
            alert_id=alert_id(code, data.subject),
            code=code,
            subject=data.subject,
            level=data.level,
            message=data.message,
            details=data.details,
            active=not cleared,
            position=event.position,
        )
        if cleared:
            row["cleared_at"] = at
        else:
            row["raised_at"], row["cleared_at"] = at, None
        return row
