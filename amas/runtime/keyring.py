"""The node's keys in memory: who a presented API key is, in a dict lookup and one hash.

Loaded from the `api_keys` projection at start, then kept current by following the
log, so a key created or revoked anywhere counts from the moment its event commits:
`wait_for(position)` lets the command that wrote it answer only after that.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite
import msgspec

from events.envelope import Event
from events.errors import ProjectionTimeoutError
from events.keys import SCOPES, TIERS, Principal, Refusal, hash_key, key_id_of, same_hash
from events.store.base import EventStore
from events.types import ApiKeyCreated, ApiKeyRevoked, ApiKeyRotated

log = logging.getLogger(__name__)

ENV_KEY_ID = "env"
"""The key id of the admin key given in AMAS_API_KEY."""


@dataclass
class _Key:
    principal: Principal
    secret_hash: str
    expires_at: float | None
    revoked: bool = False


class KeyRing:
    def __init__(self, store: EventStore, admin_key: str | None = None) -> None:
        self.store = store
        self.position = 0
        self._keys: dict[str, _Key] = {}
        self._admin_hash = hash_key(admin_key) if admin_key else None
        self._admin = Principal(ENV_KEY_ID, "AMAS_API_KEY", frozenset(SCOPES), TIERS["enterprise"])
        self._advanced = asyncio.Event()
        self._follow: asyncio.Task[None] | None = None

    async def start(self, reader: aiosqlite.Connection, loaded_to: int) -> None:
        """Load the keys from the projection (current up to `loaded_to`), then follow."""
        rows = await reader.execute_fetchall(
            "SELECT key_id, name, secret_hash, scopes, tier, expires_at, status FROM api_keys"
        )
        for key_id, name, secret_hash, scopes, tier, expires_at, status in rows:
            self._keys[key_id] = _Key(
                Principal(key_id, name, frozenset(msgspec.json.decode(scopes)), TIERS[tier]),
                secret_hash,
                _epoch(expires_at),
                revoked=status == "revoked",
            )
        self.position = loaded_to
        self._follow = asyncio.create_task(self._follow_log(loaded_to + 1))

    async def stop(self) -> None:
        if self._follow is not None:
            self._follow.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follow

    def __len__(self) -> int:
        return len(self._keys)

    def authenticate(self, raw: str, now: float) -> Principal:
        """The principal `raw` stands for; Refusal if it stands for none."""
        key_id = key_id_of(raw)
        presented = hash_key(raw)
        key = self._keys.get(key_id) if key_id else None
        if key is not None and same_hash(presented, key.secret_hash):
            if key.revoked:
                raise Refusal("this API key has been revoked")
            if key.expires_at is not None and now >= key.expires_at:
                raise Refusal("this API key has expired")
            return key.principal
        if self._admin_hash is not None and same_hash(presented, self._admin_hash):
            return self._admin
        raise Refusal("unknown API key")

    async def wait_for(self, position: int, timeout: float = 5.0) -> None:
        try:
            async with asyncio.timeout(timeout):
                while self.position < position:
                    await self._advanced.wait()
        except TimeoutError:
            raise ProjectionTimeoutError("keyring", position, self.position, timeout) from None

    async def _follow_log(self, from_position: int) -> None:
        try:
            async for batch in self.store.subscribe_batches(from_position):
                for event in batch:
                    if event.type.startswith("apikey."):
                        self._apply(event)
                self.position = batch[-1].position
                advanced, self._advanced = self._advanced, asyncio.Event()
                advanced.set()
        except Exception:
            # Without its feed the ring would keep revoked keys working: fail closed.
            log.exception("the key ring stopped following the log; refusing every key")
            self._keys.clear()
            self._admin_hash = None

    def _apply(self, event: Event) -> None:
        data = event.data
        match data:
            case ApiKeyCreated():
                self._keys[data.key_id] = _Key(
                    Principal(data.key_id, data.name, frozenset(data.scopes), TIERS[data.tier]),
                    data.secret_hash,
                    _epoch(data.expires_at),
                )
            case ApiKeyRotated() if data.key_id in self._keys:
                key = self._keys[data.key_id]
                key.secret_hash, key.expires_at = data.secret_hash, _epoch(data.expires_at)
            case ApiKeyRevoked() if data.key_id in self._keys:
                self._keys[data.key_id].revoked = True


def _epoch(iso: str | None) -> float | None:
    if iso is None:
        return None
    moment = datetime.fromisoformat(iso)
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
