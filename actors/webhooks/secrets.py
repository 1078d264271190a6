"""The webhooks' signing secrets, beside the log and never in it.

A secret must be read back to sign each delivery, so unlike an API key it cannot be
kept as a hash; the log holds only its fingerprint (sha256, hex, first 16 characters).
The secrets live in one SQLite file in the data folder, readable by the node's user
only (mode 0600). After a rotation the previous secret is kept for a day: deliveries
are signed with both, space-separated, as Standard Webhooks allows, so a receiver can
switch without missing one.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path

import aiosqlite

ROTATION_OVERLAP = 24 * 3600.0


def _private_file(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    os.chmod(path, 0o600)


def fingerprint(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


_Row = tuple[str, str | None, float | None]


class SecretStore:
    """Rows once read are kept in memory, so a delivery signs without a query: this
    process is the only writer, and `put` and `forget` drop what they change."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self.db = db
        self._rows: dict[str, _Row] = {}
        self._changes = 0
        """Counts puts and forgets: a read that saw one happen meanwhile is not kept."""

    @classmethod
    async def open(cls, path: Path) -> SecretStore:
        await asyncio.to_thread(_private_file, path)
        db = await aiosqlite.connect(path, isolation_level=None)
        await db.execute(
            "CREATE TABLE IF NOT EXISTS secrets (webhook_id TEXT PRIMARY KEY, secret TEXT"
            " NOT NULL, previous TEXT, rotated_at REAL)"
        )
        return cls(db)

    async def close(self) -> None:
        await self.db.close()

    async def put(self, webhook_id: str, secret: str) -> None:
        """A new webhook's secret, or a rotated one (the old one is kept a day)."""
        await self.db.execute(
            "INSERT INTO secrets (webhook_id, secret) VALUES (?, ?) ON CONFLICT (webhook_id)"
            " DO UPDATE SET previous = secret, secret = excluded.secret, rotated_at = ?",
            (webhook_id, secret, time.time()),
        )
        self._changed(webhook_id)

    async def signing(self, webhook_id: str) -> list[str]:
        """The secrets to sign with now: the current one, and the previous for a day."""
        row = self._rows.get(webhook_id)
        if row is None:
            changes = self._changes
            rows = list(
                await self.db.execute_fetchall(
                    "SELECT secret, previous, rotated_at FROM secrets WHERE webhook_id = ?",
                    (webhook_id,),
                )
            )
            if not rows:
                return []
            row = (rows[0][0], rows[0][1], rows[0][2])
            if changes == self._changes:
                self._rows[webhook_id] = row
        secret, previous, rotated_at = row
        if previous and rotated_at and time.time() - rotated_at < ROTATION_OVERLAP:
            return [secret, previous]
        return [secret]

    async def forget(self, webhook_id: str) -> None:
        await self.db.execute("DELETE FROM secrets WHERE webhook_id = ?", (webhook_id,))
        self._changed(webhook_id)

    def _changed(self, webhook_id: str) -> None:
        """After a write: forget the row, and keep no read that overlapped the write."""
        self._changes += 1
        self._rows.pop(webhook_id, None)
