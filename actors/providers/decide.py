"""The router's decisions, pure: which providers to try in which order, and what each
failure means. No I/O and no clock of its own (times are passed in).

Order. Every provider is listed, each with the reason it is skipped if it is:
`unconfigured` (no key), `disabled`, `open` (its breaker), `rate_limited`,
`quota_exhausted` or `failed` (cooling down until a time), `rpm`/`tpm` (its local limits
are used up), `context` (its window is smaller than one that already refused the prompt
as too long). The strategies order the rest:

* `priority` (default) — by configured priority: the seed's fallback chain (deepseek,
  glm, grok, kimi, qwen), then the others;
* `intelligent` — by a score of health, speed and cost together: 0.5 x success rate
  (Laplace-smoothed, so a new provider starts at 0.5) + 0.3 x speed (1 - latency / the
  slowest's) + 0.2 x cheapness (1 - price / the dearest's; unknown price counts as the
  dearest); ties by priority;
* `round_robin` — the priority order, rotated one further on each call;
* `fastest` — by observed latency (an exponential average), unknown last;
* `cheapest` — by price per million tokens (prompt + completion), unknown last.

Failures. Each class is handled once:

    rate_limited      next provider; this one cools down for its Retry-After (else 5 s)
    quota_exhausted   next provider; this one is out until its reset (else an hour)
    server_error, overloaded, timeout, connection, malformed
                      retry here with backoff (max_retries), then the next provider
    auth, not_found   next provider; this one cools down 5 min and shows `failed`
    context_too_long  next provider with a larger window
    bad_request       stop: the request itself is wrong, another vendor will say so too
"""

from __future__ import annotations

import enum
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from actors.providers.errors import FailureKind

STRATEGIES = ("priority", "intelligent", "round_robin", "fastest", "cheapest")

RATE_LIMIT_COOLDOWN = 5.0
"""Seconds a rate-limited provider rests when it sent no Retry-After (LiteLLM's default)."""
QUOTA_COOLDOWN = 3600.0
AUTH_COOLDOWN = 300.0


@dataclass(frozen=True)
class View:
    """What the router knows of a provider when it orders them (its actor's snapshot)."""

    id: str
    priority: int
    configured: bool
    enabled: bool
    breaker_open_until: float = 0.0
    """While ahead, the breaker is open."""
    probing: bool = False
    """The breaker is half open and its one probe is out."""
    cooling_until: float = 0.0
    cooling_status: str = ""
    """rate_limited, quota_exhausted or failed while cooling_until is ahead."""
    limited: str = ""
    """rpm or tpm when a local limit is used up now."""
    limited_until: float | None = None
    """When that limit frees again."""
    latency_ms: float | None = None
    calls: int = 0
    successes: int = 0
    price: float | None = None
    """USD per million tokens, prompt + completion."""
    context_window: int = 128_000


def status_of(view: View, now: float) -> str:
    """What a provider is now (active, unconfigured, disabled, rate_limited,
    quota_exhausted or failed): its snapshot's times read against the clock."""
    if not view.configured:
        return "unconfigured"
    if not view.enabled:
        return "disabled"
    if view.cooling_until > now:
        return view.cooling_status
    if view.breaker_open_until > now:
        return "failed"
    return "active"


@dataclass(frozen=True)
class Candidate:
    id: str
    skip: str | None = None
    until: float | None = None
    """When a cooling provider may be tried again."""


def order(
    strategy: str,
    views: Iterable[View],
    now: float,
    turn: int = 0,
    min_context: int = 0,
) -> list[Candidate]:
    """Every provider, the usable ones first in the strategy's order, then the skipped."""
    everyone = sorted(views, key=lambda v: (v.priority, v.id))
    usable, skipped = [], []
    for view in everyone:
        reason, until = _skip(view, now, min_context)
        if reason is None:
            usable.append(view)
        else:
            skipped.append(Candidate(view.id, reason, until))
    return [Candidate(v.id) for v in _rank(strategy, usable, turn)] + skipped


def _skip(view: View, now: float, min_context: int) -> tuple[str | None, float | None]:
    if not view.configured:
        return "unconfigured", None
    if not view.enabled:
        return "disabled", None
    if view.cooling_until > now:
        return view.cooling_status or "rate_limited", view.cooling_until
    if view.breaker_open_until > now or view.probing:
        return "open", view.breaker_open_until or None
    if view.limited and (view.limited_until is None or view.limited_until > now):
        return view.limited, view.limited_until
    if view.context_window <= min_context:
        return "context", None
    return None, None


def _rank(strategy: str, usable: list[View], turn: int) -> list[View]:
    if strategy == "round_robin" and usable:
        start = turn % len(usable)
        return usable[start:] + usable[:start]
    if strategy == "fastest":
        return sorted(usable, key=lambda v: (v.latency_ms is None, v.latency_ms or 0.0))
    if strategy == "cheapest":
        return sorted(usable, key=lambda v: (v.price is None, v.price or 0.0))
    if strategy == "intelligent":
        return sorted(usable, key=lambda v: -score(v, usable))
    return usable  # priority: already in priority order


def score(view: View, among: Sequence[View]) -> float:
    """The intelligent strategy's score in [0, 1] (higher is better)."""
    success = (view.successes + 1) / (view.calls + 2)
    slowest = max((v.latency_ms or 0.0 for v in among), default=0.0)
    speed = 1 - (view.latency_ms / slowest) if slowest and view.latency_ms is not None else 0.5
    dearest = max((v.price or 0.0 for v in among), default=0.0)
    price = view.price if view.price is not None else dearest
    cheap = 1 - price / dearest if dearest else 1.0
    return 0.5 * success + 0.3 * speed + 0.2 * cheap


class Action(enum.Enum):
    RETRY = "retry"
    """Try the same provider again after a backoff."""
    NEXT = "next"
    """Go on to the next provider."""
    LARGER = "larger"
    """Go on to a provider with a larger context window."""
    STOP = "stop"
    """Give up: the request is wrong."""


@dataclass(frozen=True)
class Verdict:
    action: Action
    cool_for: float = 0.0
    """Seconds this provider rests (0: it does not)."""
    status: str = ""
    """What it shows while it rests."""
    counts_for_breaker: bool = False


_TRANSIENT = frozenset(
    {
        FailureKind.SERVER_ERROR,
        FailureKind.OVERLOADED,
        FailureKind.TIMEOUT,
        FailureKind.CONNECTION,
        FailureKind.MALFORMED,
    }
)


def verdict(
    kind: FailureKind,
    retries_done: int,
    max_retries: int,
    retry_after: float | None,
    reset_in: float | None,
) -> Verdict:
    """What to do after a failure of `kind` (the class said once, in one place)."""
    if kind == FailureKind.RATE_LIMITED:
        wait = retry_after if retry_after is not None else RATE_LIMIT_COOLDOWN
        return Verdict(Action.NEXT, cool_for=wait, status="rate_limited")
    if kind == FailureKind.QUOTA_EXHAUSTED:
        wait = reset_in if reset_in is not None and reset_in > 0 else QUOTA_COOLDOWN
        return Verdict(Action.NEXT, cool_for=wait, status="quota_exhausted")
    if kind in _TRANSIENT:
        action = Action.RETRY if retries_done < max_retries else Action.NEXT
        return Verdict(action, counts_for_breaker=True)
    if kind in (FailureKind.AUTH, FailureKind.NOT_FOUND):
        return Verdict(Action.NEXT, cool_for=AUTH_COOLDOWN, status="failed")
    if kind == FailureKind.CONTEXT_TOO_LONG:
        return Verdict(Action.LARGER)
    return Verdict(Action.STOP)


def backoff(
    retries_done: int,
    retry_after: float | None,
    base: float,
    cap: float,
    rng: random.Random | None = None,
) -> float:
    """Seconds before retry number `retries_done + 1`: the vendor's Retry-After when it
    sent one, else exponential with full jitter (AWS's), at most `cap`."""
    if retry_after is not None:
        return min(retry_after, cap)
    ceiling = min(cap, base * 2**retries_done)
    return (rng or random).uniform(ceiling / 2, ceiling)
