"""A provider's requests and tokens per minute, enforced before a call leaves.

The configured rpm/tpm are counted over a sliding minute of this node's own calls. The
vendor's rate-limit headers (x-ratelimit-*, anthropic-ratelimit-*) then tighten it: when
an answer says no request (or no token) remains, the provider is held until the reset
the same answer named, whatever our own count says. Clock passed in.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from actors.providers.errors import RateLimits

WINDOW = 60.0


@dataclass
class Limits:
    rpm: int | None = None
    tpm: int | None = None
    calls: deque[tuple[float, int]] = field(default_factory=deque)
    """(when, tokens) of the last minute's calls."""
    held_until: float = 0.0
    held_by: str = ""
    vendor: RateLimits = field(default_factory=RateLimits)
    """The last rate-limit headers the vendor sent."""

    def used_up(self, now: float) -> str:
        """'rpm' or 'tpm' if a limit is used up now, else ''."""
        if now < self.held_until:
            return self.held_by
        self._expire(now)
        if self.rpm is not None and len(self.calls) >= self.rpm:
            return "rpm"
        if self.tpm is not None and sum(t for _, t in self.calls) >= self.tpm:
            return "tpm"
        return ""

    def free_at(self, now: float) -> float | None:
        """When a used-up limit frees again (None if none is used up)."""
        used = self.used_up(now)
        if not used:
            return None
        if now < self.held_until:
            return self.held_until
        return self.calls[0][0] + WINDOW  # the oldest call leaves the minute

    def record(self, now: float, tokens: int) -> None:
        self._expire(now)
        self.calls.append((now, tokens))

    def learn(self, now: float, limits: RateLimits) -> None:
        """Take the vendor's word: nothing remaining holds the provider until reset."""
        self.vendor = limits
        if limits.requests_remaining == 0 and limits.requests_reset_s:
            self._hold(now + limits.requests_reset_s, "rpm")
        if limits.tokens_remaining == 0 and limits.tokens_reset_s:
            self._hold(now + limits.tokens_reset_s, "tpm")

    def _hold(self, until: float, by: str) -> None:
        if until > self.held_until:
            self.held_until, self.held_by = until, by

    def _expire(self, now: float) -> None:
        horizon = now - WINDOW
        while self.calls and self.calls[0][0] <= horizon:
            self.calls.popleft()
