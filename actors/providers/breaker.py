"""A circuit breaker per provider: stop calling one that keeps failing, probe it later.

    closed ──(N failures in a row, or a failure rate over a window)──> open
    open ──(cool-down over)──> half_open: one probe call at a time
    half_open ──(M successes)──> closed;  half_open ──(a failure)──> open (longer)

Counts are Portkey's and LiteLLM's defaults made explicit: open after 5 failures in a
row, or when at least half of the last minute's calls (10 or more) failed; a 30 s
cool-down that doubles for each failed probe, up to 5 min; closed after 2 successful
probes. Only failures that say something about the provider count (server errors,
overloads, timeouts, connection failures, malformed answers): a rate limit or a bad
request does not. The clock is passed in, so every transition is testable.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Literal

State = Literal["closed", "open", "half_open"]


@dataclass(frozen=True)
class BreakerPolicy:
    failures_in_a_row: int = 5
    failure_rate: float = 0.5
    minimum_calls: int = 10
    window: float = 60.0
    cooldown: float = 30.0
    max_cooldown: float = 300.0
    successes_to_close: int = 2


@dataclass
class Breaker:
    policy: BreakerPolicy = field(default_factory=BreakerPolicy)
    state: State = "closed"
    opened_until: float = 0.0
    in_a_row: int = 0
    probes_ok: int = 0
    probing: bool = False
    trips: int = 0
    """Failed probes since it last closed: each doubles the cool-down."""
    recent: deque[tuple[float, bool]] = field(default_factory=deque)

    def allows(self, now: float) -> bool:
        """Whether a call may go now; moves open to half_open when the cool-down ends
        (then only one probe at a time)."""
        if self.state == "open" and now >= self.opened_until:
            self.state, self.probes_ok, self.probing = "half_open", 0, False
        if self.state == "open":
            return False
        return not (self.state == "half_open" and self.probing)

    def started(self) -> None:
        if self.state == "half_open":
            self.probing = True

    def succeeded(self, now: float) -> State | None:
        """Record a success; the new state if it changed."""
        self._remember(now, True)
        self.in_a_row = 0
        if self.state == "half_open":
            self.probing = False
            self.probes_ok += 1
            if self.probes_ok >= self.policy.successes_to_close:
                self.state, self.trips = "closed", 0
                return "closed"
        return None

    def failed(self, now: float) -> State | None:
        """Record a failure that counts; the new state if it changed."""
        self._remember(now, False)
        self.in_a_row += 1
        if self.state == "half_open":
            self.probing = False
            self.trips += 1
            return self._open(now)
        if self.state == "closed" and (
            self.in_a_row >= self.policy.failures_in_a_row or self._rate_exceeded()
        ):
            return self._open(now)
        return None

    def cancelled(self) -> None:
        """A probe that ended without an answer either way (the caller gave up)."""
        self.probing = False

    def _open(self, now: float) -> State:
        cooldown = min(self.policy.cooldown * 2**self.trips, self.policy.max_cooldown)
        self.state, self.opened_until = "open", now + cooldown
        return "open"

    def _remember(self, now: float, ok: bool) -> None:
        self.recent.append((now, ok))
        horizon = now - self.policy.window
        while self.recent and self.recent[0][0] < horizon:
            self.recent.popleft()

    def _rate_exceeded(self) -> bool:
        calls = len(self.recent)
        if calls < self.policy.minimum_calls:
            return False
        failures = sum(1 for _, ok in self.recent if not ok)
        return failures / calls >= self.policy.failure_rate
