"""API keys: how they look, how they are made and checked, and what a tier allows.

A key reads `amas_<key_id>_<secret>`. The key id is public (it names the key in
listings, URLs and events); the secret is 256 random bits. Only sha256(key) is kept:
a key this random needs no slow hash, and a stolen hash cannot be turned back into one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from events.clock import iso_seconds
from events.errors import EventsError

KEY_PREFIX = "amas_"
SCOPES = ("read", "write", "admin")
Scope = Literal["read", "write", "admin"]
TierName = Literal["free", "basic", "pro", "enterprise"]


@dataclass(frozen=True)
class Tier:
    """The seed's usage tiers; None is unlimited."""

    name: str
    requests_per_hour: int | None
    burst: int | None
    concurrent_tasks: int | None


TIERS: dict[str, Tier] = {
    "free": Tier("free", 100, 10, 2),
    "basic": Tier("basic", 1_000, 50, 10),
    "pro": Tier("pro", 10_000, 200, 50),
    "enterprise": Tier("enterprise", None, None, None),
}


@dataclass(frozen=True)
class Principal:
    """Who made a request: the key that authenticated it."""

    key_id: str | None
    name: str
    scopes: frozenset[str]
    tier: Tier

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


ANONYMOUS_ADMIN = Principal(
    None, "anonymous (authentication off)", frozenset(SCOPES), TIERS["enterprise"]
)


class Refusal(EventsError):
    """Why a presented key does not authenticate (the message is safe to show)."""


@dataclass(frozen=True)
class NewKey:
    key_id: str
    raw: str
    """The whole key: shown once, to whoever asked for it, and never stored."""
    prefix: str
    secret_hash: str


def new_key_id() -> str:
    return base64.b32encode(secrets.token_bytes(10)).decode().lower()


def generate(key_id: str | None = None) -> NewKey:
    """A fresh key (a new secret for `key_id` when rotating)."""
    key_id = key_id or new_key_id()
    prefix = f"{KEY_PREFIX}{key_id}"
    raw = f"{prefix}_{secrets.token_urlsafe(32)}"
    return NewKey(key_id=key_id, raw=raw, prefix=prefix, secret_hash=hash_key(raw))


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def key_id_of(raw: str) -> str | None:
    """The key id a presented key claims, or None if it is not shaped like ours."""
    if not raw.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = raw[len(KEY_PREFIX) :].partition("_")
    return key_id if sep and key_id and secret else None


def same_hash(presented: str, stored: str) -> bool:
    """Constant-time: how much of a hash matched must not show in the answer's timing."""
    return hmac.compare_digest(presented.encode(), stored.encode())


def expiry(text: str | None, now: datetime | None = None) -> str | None:
    """`30d`, `12h`, `90m`, or an ISO date/time (UTC if no zone) as ISO 8601 UTC."""
    if not text:
        return None
    now = now or datetime.now(UTC)
    units = {"d": 86_400, "h": 3_600, "m": 60}
    if text[-1:] in units and text[:-1].isdigit():
        moment = now + timedelta(seconds=int(text[:-1]) * units[text[-1]])
    else:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"not an expiry: {text!r} (try 30d, 12h or 2027-01-31)") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
    if moment <= now:
        raise ValueError(f"the expiry {text!r} is in the past")
    return iso_seconds(moment)
