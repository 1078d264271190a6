"""The router's pure decisions: the order each strategy gives, the skip reasons, what
each failure class leads to, backoff; and the breaker's and the limits' transitions."""

from __future__ import annotations

import random

import pytest

from actors.providers.breaker import Breaker, BreakerPolicy
from actors.providers.decide import Action, View, backoff, order, verdict
from actors.providers.errors import FailureKind, RateLimits
from actors.providers.limits import Limits


def _view(pid: str, priority: int, **kw: object) -> View:
    base: dict[str, object] = dict(id=pid, priority=priority, configured=True, enabled=True)
    base.update(kw)
    return View(**base)  # type: ignore[arg-type]


VIEWS = [
    _view("deepseek", 1, latency_ms=900.0, calls=10, successes=5, price=1.5),
    _view("glm", 2, latency_ms=300.0, calls=10, successes=10, price=0.5),
    _view("grok", 3, latency_ms=None, price=None),
    _view("claude", 6, configured=False),
    _view("gpt4", 7, enabled=False),
]


def _ids(candidates: list) -> list[tuple[str, str | None]]:
    return [(c.id, c.skip) for c in candidates]


def test_priority_lists_every_provider_the_unusable_last_with_their_reason() -> None:
    assert _ids(order("priority", VIEWS, now=0)) == [
        ("deepseek", None), ("glm", None), ("grok", None),
        ("claude", "unconfigured"), ("gpt4", "disabled"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("strategy", "first_three"),
    [
        ("fastest", ["glm", "deepseek", "grok"]),  # unknown latency last
        ("cheapest", ["glm", "deepseek", "grok"]),  # unknown price last
        ("intelligent", ["glm", "grok", "deepseek"]),  # healthy, fast, cheap first
    ],
)
def test_each_strategy_orders_the_usable_providers(strategy: str, first_three: list[str]) -> None:
    assert [c.id for c in order(strategy, VIEWS, now=0)][:3] == first_three


def test_round_robin_turns_one_further_each_call() -> None:
    firsts = [order("round_robin", VIEWS, now=0, turn=turn)[0].id for turn in range(4)]
    assert firsts == ["deepseek", "glm", "grok", "deepseek"]


def test_cooling_open_limited_and_small_windows_are_skipped_with_their_reason() -> None:
    views = [
        _view("a", 1, cooling_until=10.0, cooling_status="rate_limited"),
        _view("b", 2, breaker_open_until=30.0),
        _view("c", 3, limited="rpm", limited_until=6.0),
        _view("d", 4, context_window=8_000),
        _view("e", 5, cooling_until=1.0, cooling_status="quota_exhausted"),  # over at 5
    ]
    candidates = order("priority", views, now=5.0, min_context=8_000)
    assert _ids(candidates) == [
        ("e", None), ("a", "rate_limited"), ("b", "open"), ("c", "rpm"), ("d", "context"),
    ]  # fmt: skip
    assert candidates[1].until == 10.0
    later = order("priority", views, now=31.0, min_context=8_000)
    assert [c.id for c in later if c.skip is None] == ["a", "b", "c", "e"]  # times passed


@pytest.mark.parametrize(
    ("kind", "action", "status", "cool_for"),
    [
        (FailureKind.RATE_LIMITED, Action.NEXT, "rate_limited", 7.0),
        (FailureKind.QUOTA_EXHAUSTED, Action.NEXT, "quota_exhausted", 3600.0),
        (FailureKind.SERVER_ERROR, Action.RETRY, "", 0.0),
        (FailureKind.OVERLOADED, Action.RETRY, "", 0.0),
        (FailureKind.TIMEOUT, Action.RETRY, "", 0.0),
        (FailureKind.AUTH, Action.NEXT, "failed", 300.0),
        (FailureKind.NOT_FOUND, Action.NEXT, "failed", 300.0),
        (FailureKind.CONTEXT_TOO_LONG, Action.LARGER, "", 0.0),
        (FailureKind.BAD_REQUEST, Action.STOP, "", 0.0),
    ],
)
def test_each_failure_class_is_handled_once(
    kind: FailureKind, action: Action, status: str, cool_for: float
) -> None:
    said = verdict(kind, retries_done=0, max_retries=2, retry_after=7.0, reset_in=None)
    assert (said.action, said.status, said.cool_for) == (action, status, cool_for)


def test_transient_failures_retry_until_max_retries_then_go_next() -> None:
    assert verdict(FailureKind.SERVER_ERROR, 1, 2, None, None).action == Action.RETRY
    assert verdict(FailureKind.SERVER_ERROR, 2, 2, None, None).action == Action.NEXT
    assert verdict(FailureKind.SERVER_ERROR, 0, 0, None, None).counts_for_breaker


def test_a_quota_rests_until_its_reset_and_a_rate_limit_without_retry_after_5_s() -> None:
    assert verdict(FailureKind.QUOTA_EXHAUSTED, 0, 2, None, reset_in=120.0).cool_for == 120.0
    assert verdict(FailureKind.RATE_LIMITED, 0, 2, None, None).cool_for == 5.0


def test_backoff_honours_retry_after_and_grows_with_jitter_under_its_cap() -> None:
    rng = random.Random(1)
    assert backoff(0, 3.0, base=0.5, cap=8.0) == 3.0
    assert backoff(0, 30.0, base=0.5, cap=8.0) == 8.0
    waits = [backoff(n, None, 0.5, 8.0, rng) for n in range(6)]
    for n, wait in enumerate(waits):
        ceiling = min(8.0, 0.5 * 2**n)
        assert ceiling / 2 <= wait <= ceiling


def test_the_breaker_opens_probes_and_closes() -> None:
    breaker = Breaker(BreakerPolicy(failures_in_a_row=3, cooldown=10.0, successes_to_close=2))
    assert breaker.failed(0.0) is None and breaker.failed(1.0) is None
    assert breaker.failed(2.0) == "open"
    assert not breaker.allows(5.0)
    assert breaker.allows(12.0) and breaker.state == "half_open"
    breaker.started()
    assert not breaker.allows(12.5)  # one probe at a time
    assert breaker.succeeded(13.0) is None
    breaker.started()
    assert breaker.succeeded(14.0) == "closed"


def test_a_failed_probe_opens_it_again_for_twice_as_long() -> None:
    breaker = Breaker(BreakerPolicy(failures_in_a_row=1, cooldown=10.0))
    breaker.failed(0.0)
    assert breaker.allows(10.0)
    breaker.started()
    assert breaker.failed(10.0) == "open"
    assert not breaker.allows(29.0) and breaker.allows(30.0)


def test_the_breaker_opens_on_a_failure_rate_too() -> None:
    breaker = Breaker(BreakerPolicy(failures_in_a_row=100, minimum_calls=10, failure_rate=0.5))
    changes = [breaker.succeeded(n) for n in range(4)]
    changes += [breaker.failed(n) for n in range(4, 10)]
    assert changes == [None] * 9 + ["open"]  # 6 of 10 failed; 5 of 9 was too few calls


def test_local_limits_count_a_sliding_minute_and_the_vendor_can_hold_them() -> None:
    limits = Limits(rpm=2, tpm=1000)
    limits.record(0.0, 100)
    limits.record(1.0, 100)
    assert limits.used_up(2.0) == "rpm"
    assert limits.used_up(60.5) == ""  # the first call left the window
    tokens = Limits(tpm=150)
    tokens.record(0.0, 200)
    assert tokens.used_up(1.0) == "tpm"
    held = Limits()
    held.learn(10.0, RateLimits(requests_remaining=0, requests_reset_s=6.0))
    assert held.used_up(15.0) == "rpm" and held.used_up(16.5) == ""
