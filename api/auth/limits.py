"""Rate limits: a generic cell rate algorithm (GCRA) per key, per tier and per group.

GCRA is a token bucket kept as one number per client (the "theoretical arrival
time"): `limit` requests per `period`, up to `burst` of them back to back. No timer,
no window reset storm, and a check costs a few float operations.

    X-RateLimit-Limit       the limit per period (the tier's requests per hour)
    X-RateLimit-Remaining   requests that may be made right now (at most the burst)
    X-RateLimit-Reset       Unix time at which the whole burst is available again
    Retry-After             (429 only) seconds until the next request is allowed
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from events.keys import Principal, Tier

_PRUNE_AT = 50_000
"""Clients tracked by one limiter before those back at a full bucket are forgotten."""


@dataclass(slots=True)
class Verdict:
    allowed: bool
    limit: int
    remaining: int
    reset: int
    """Unix time, seconds."""
    retry_after: int = 0
    """Seconds to wait when not allowed."""
    what: str = "requests"
    """What is counted, and per what: "free tier requests per hour"."""

    def headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"x-ratelimit-limit", b"%d" % self.limit),
            (b"x-ratelimit-remaining", b"%d" % self.remaining),
            (b"x-ratelimit-reset", b"%d" % self.reset),
        ]
        if not self.allowed:
            headers.append((b"retry-after", b"%d" % self.retry_after))
        return headers


UNLIMITED_HEADERS = [
    (b"x-ratelimit-limit", b"unlimited"),
    (b"x-ratelimit-remaining", b"unlimited"),
    (b"x-ratelimit-reset", b"0"),
]


_PERIODS = {1.0: "second", 60.0: "minute", 3600.0: "hour"}


class Gcra:
    """`limit` requests per `period` seconds per client, `burst` at once."""

    def __init__(self, limit: int, period: float, burst: int, what: str = "requests") -> None:
        if limit < 1 or burst < 1:
            raise ValueError("limit and burst must be at least 1")
        self.limit = limit
        self.burst = burst
        self.what = f"{what} per {_PERIODS.get(period, f'{period:g} s')}"
        self.interval = period / limit
        self.tolerance = self.interval * burst
        self._tat: dict[str, float] = {}
        self._wall_offset, self._offset_until = 0.0, -1.0

    def take(self, client: str, now: float | None = None) -> Verdict:
        """Count one request by `client`, if it is allowed now."""
        return self._check(client, time.monotonic() if now is None else now, consume=True)

    def peek(self, client: str, now: float | None = None) -> Verdict:
        """Would one more request by `client` be allowed? Counts nothing."""
        return self._check(client, time.monotonic() if now is None else now, consume=False)

    def refusal(self, client: str) -> Verdict | None:
        """The refusal one more request by `client` would get, or None; cheap for a client
        this limiter has not seen (the common case for the failed-authentication one)."""
        if client not in self._tat:
            return None
        verdict = self.peek(client)
        return None if verdict.allowed else verdict

    def _check(self, client: str, now: float, consume: bool) -> Verdict:
        tat = max(self._tat.get(client, now), now)
        new_tat = tat + self.interval
        allowed_from = new_tat - self.tolerance
        if now > self._offset_until:  # monotonic to Unix time, read again once a minute
            self._wall_offset, self._offset_until = time.time() - now, now + 60.0
        wall = self._wall_offset
        if now < allowed_from:
            return Verdict(
                False,
                self.limit,
                0,
                math.ceil(wall + tat),
                max(1, math.ceil(allowed_from - now)),
                self.what,
            )
        if consume:
            if len(self._tat) >= _PRUNE_AT:
                self._prune(now)
            self._tat[client] = new_tat
            tat = new_tat
        remaining = min(self.burst, int((now + self.tolerance - tat) / self.interval + 1e-9))
        return Verdict(True, self.limit, max(0, remaining), math.ceil(wall + tat), 0, self.what)

    def _prune(self, now: float) -> None:
        self._tat = {client: tat for client, tat in self._tat.items() if tat > now}


@dataclass(frozen=True)
class Group:
    """Routes that share a limit of their own on top of the tier's (per key, per minute)."""

    name: str
    path: str
    """A path, or a path prefix ending in '/'."""
    per_minute: int
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and method != self.method:
            return False
        if self.path.endswith("/"):
            return path.startswith(self.path) or path == self.path[:-1]
        return path == self.path


GROUPS = (
    Group("orchestrator", "/api/v1/workflows/orchestrator/trigger", 10, "POST"),
    Group("self-improver", "/api/v1/workflows/self-improver/trigger", 5, "POST"),
    Group("issue-responder", "/api/v1/workflows/issue-responder/trigger", 20, "POST"),
    Group("provider-management", "/api/v1/ai-providers/", 30),
)


class RateLimiter:
    """The limits one authenticated request must pass: its tier's, then its group's."""

    def __init__(self, groups: tuple[Group, ...] = GROUPS) -> None:
        self.groups = groups
        self._group_paths = tuple(g.path.rstrip("/") for g in groups)
        self._tiers: dict[str, Gcra] = {}
        self._groups = {
            g.name: Gcra(g.per_minute, 60.0, g.per_minute, f"{g.name} requests") for g in groups
        }

    def check(self, principal: Principal, method: str, path: str) -> Verdict | None:
        """The binding verdict (a refusal, or the tightest pass); None if unlimited."""
        client = principal.key_id or ""
        if not path.startswith(self._group_paths):  # the common case: the tier's limit only
            tier = principal.tier
            return None if tier.requests_per_hour is None else self._tier(tier).take(client)
        limiters = (
            [self._groups[g.name] for g in self.groups if g.matches(method, path)]
            if path.startswith(self._group_paths)
            else []
        )
        tier = principal.tier
        if tier.requests_per_hour is not None:
            limiters.append(self._tier(tier))
        if len(limiters) == 1:
            return limiters[0].take(client)
        if not limiters:
            return None
        now = time.monotonic()
        refused = [v for v in (lim.peek(client, now) for lim in limiters) if not v.allowed]
        if refused:  # count nothing: a request refused by one limit spends none of the others
            return max(refused, key=lambda v: v.retry_after)
        return min((lim.take(client, now) for lim in limiters), key=lambda v: v.remaining)

    def _tier(self, tier: Tier) -> Gcra:
        limiter = self._tiers.get(tier.name)
        if limiter is None:
            assert tier.requests_per_hour is not None
            limiter = self._tiers[tier.name] = Gcra(
                tier.requests_per_hour,
                3600.0,
                tier.burst or tier.requests_per_hour,
                f"{tier.name} tier requests",
            )
        return limiter
