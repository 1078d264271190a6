"""The alert rules, pure: facts folded from events and polls -> the alerts to write, on
transitions only (raised once, cleared once, each clear saying what cleared it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from actors.alerts import rules
from actors.alerts.facts import DELIVERER, AlertSettings, State, fold
from events.envelope import Event, EventData, Meta
from events.types import (
    AgentErrored,
    ProviderStateChanged,
    SystemAlerted,
    TaskCompleted,
    WebhookDeleted,
    WebhookUpdated,
)
from events.verify import VerifyResult

T0 = 1_800_000_000.0
SETTINGS = AlertSettings(agent_errors=3, agent_window=300.0, backlog=100, disk_free_mb=500)
PROVIDERS = frozenset({"deepseek", "glm"})


class Monitor:
    """rules driven as the monitor drives them: fold, decide, record what was written."""

    def __init__(self, settings: AlertSettings = SETTINGS, state: State | None = None) -> None:
        self.settings = settings
        self.state = state or State()
        self.position = 0
        self.usable = PROVIDERS

    def see(self, data: EventData, at: float = T0, actor: str | None = None) -> None:
        self.position += 1
        event = Event(
            event_id=f"e{self.position}",
            stream="s",
            version=self.position,
            position=self.position,
            type=data.type_name,
            schema=1,
            data=data,
            meta=Meta(actor=actor),
            ts=datetime.fromtimestamp(at, UTC),
            hash="",
        )
        fold(self.state, event, self.settings)

    def decide(self, at: float = T0) -> list[SystemAlerted]:
        now = rules.Now(at, self.usable, self.settings)
        written = rules.decide(self.state, now)
        rules.record(self.state, written, now)
        return written


def codes(alerts: list[SystemAlerted]) -> list[tuple[str, str, bool]]:
    return [(a.code, a.subject, a.cleared) for a in alerts]


def breaker(provider: str, state: str, status: str = "", **extra: Any) -> ProviderStateChanged:
    status = status or {"open": "failed"}.get(state, "active")
    return ProviderStateChanged(provider=provider, breaker=state, status=status, **extra)


# -- providers ---------------------------------------------------------------------------


def test_a_breaker_opening_raises_one_warning_with_its_facts_and_closing_clears_it() -> None:
    monitor = Monitor()
    monitor.see(breaker("deepseek", "open", reason="open", until="2027-01-15T08:00:30Z"))

    [opened] = monitor.decide()
    assert (opened.level, opened.code, opened.subject) == ("warning", rules.CIRCUIT, "deepseek")
    assert opened.details == {
        "provider": "deepseek",
        "breaker": "open",
        "status": "failed",
        "reason": "open",
        "until": "2027-01-15T08:00:30Z",
    }
    assert monitor.decide() == []  # still open: nothing new
    monitor.see(breaker("deepseek", "half_open"))
    assert monitor.decide() == []  # probing is not closed yet

    monitor.see(breaker("deepseek", "closed"))
    [closed] = monitor.decide()
    assert (closed.level, closed.code, closed.subject, closed.cleared) == (
        "info",
        rules.CIRCUIT,
        "deepseek",
        True,
    )
    assert "closed again" in closed.message


def test_an_open_circuit_clears_when_its_provider_is_disabled() -> None:
    monitor = Monitor()
    monitor.see(breaker("deepseek", "open"))
    monitor.decide()
    monitor.usable = frozenset({"glm"})

    assert codes(monitor.decide()) == [(rules.CIRCUIT, "deepseek", True)]


def test_after_a_restart_an_open_circuit_clears_since_the_new_breaker_starts_closed() -> None:
    monitor = Monitor()
    open_before = SystemAlerted(
        level="warning", code=rules.CIRCUIT, message="m", subject="deepseek"
    )
    rules.seed(monitor.state, [open_before], T0)
    # The old node's state change, folded at start: not this node's breaker.
    event = Event(
        event_id="e",
        stream="s",
        version=1,
        position=1,
        type="provider.state",
        schema=1,
        data=breaker("deepseek", "open"),
        meta=Meta(),
        ts=datetime.fromtimestamp(T0, UTC),
        hash="",
    )
    fold(monitor.state, event, SETTINGS, live=False)

    [cleared] = monitor.decide()
    assert (cleared.subject, cleared.cleared) == ("deepseek", True)
    assert "restarted" in cleared.message


def test_every_usable_provider_down_is_critical_until_one_takes_calls_again() -> None:
    monitor = Monitor()
    monitor.see(breaker("deepseek", "open"))
    assert codes(monitor.decide()) == [(rules.CIRCUIT, "deepseek", False)]

    monitor.see(breaker("glm", "closed", status="rate_limited", until="2027-01-15T08:00:05Z"))
    [critical] = monitor.decide()
    assert (critical.level, critical.code, critical.subject) == (
        "critical",
        rules.ALL_PROVIDERS,
        "",
    )
    assert set(critical.details["providers"]) == {"deepseek", "glm"}
    assert critical.details["providers"]["glm"]["status"] == "rate_limited"

    monitor.see(breaker("glm", "closed", status="active"))
    [back] = monitor.decide()
    assert (back.code, back.cleared, back.details) == (
        rules.ALL_PROVIDERS,
        True,
        {"available": ["glm"]},
    )


def test_no_usable_provider_at_all_raises_nothing() -> None:
    monitor = Monitor()
    monitor.usable = frozenset()
    assert monitor.decide() == []


# -- agents ------------------------------------------------------------------------------


def error(agent_id: str = "osint-agent", n: int = 1) -> AgentErrored:
    return AgentErrored(agent_id=agent_id, agent_type="osint", error=f"boom {n}", task_id=f"t{n}")


def test_three_errors_of_one_agent_within_the_window_raise_agent_failing_once() -> None:
    monitor = Monitor()
    for n in (1, 2):
        monitor.see(error(n=n), T0 + n)
        assert monitor.decide(T0 + n) == []
    monitor.see(error(n=3), T0 + 3)

    [failing] = monitor.decide(T0 + 3)
    assert (failing.level, failing.code, failing.subject) == ("error", rules.AGENT, "osint-agent")
    assert failing.details["errors"] == 3
    assert failing.details["last_error"] == "boom 3"
    assert failing.details["task_id"] == "t3"
    monitor.see(error(n=4), T0 + 4)
    assert monitor.decide(T0 + 4) == []


def test_errors_further_apart_than_the_window_raise_nothing() -> None:
    monitor = Monitor()
    for n in range(3):
        monitor.see(error(n=n), T0 + n * 200)
        assert monitor.decide(T0 + n * 200) == []


def test_errors_of_different_agents_do_not_add_up() -> None:
    monitor = Monitor()
    for n, agent in enumerate(("a", "b", "a", "b")):
        monitor.see(error(agent, n), T0 + n)
    assert monitor.decide(T0 + 4) == []


def test_a_failing_agent_clears_when_it_completes_a_task() -> None:
    monitor = Monitor()
    for n in range(3):
        monitor.see(error(n=n), T0 + n)
    monitor.decide(T0 + 3)
    monitor.see(TaskCompleted(task_id="other", agent_id="someone-else", result={}), T0 + 4)
    assert monitor.decide(T0 + 4) == []

    monitor.see(TaskCompleted(task_id="t9", agent_id="osint-agent", result={}), T0 + 5)
    [cleared] = monitor.decide(T0 + 5)
    assert (cleared.code, cleared.subject, cleared.cleared) == (rules.AGENT, "osint-agent", True)
    assert cleared.details["task_id"] == "t9"


def test_a_failing_agent_clears_after_a_whole_window_without_errors() -> None:
    monitor = Monitor()
    for n in range(3):
        monitor.see(error(n=n), T0 + n)
    monitor.decide(T0 + 3)
    assert monitor.decide(T0 + 2 + 299) == []

    [cleared] = monitor.decide(T0 + 2 + 300)
    assert (cleared.code, cleared.cleared) == (rules.AGENT, True)
    assert "has not failed for 300 s" in cleared.message


def test_after_a_restart_a_failing_agent_is_not_raised_again_and_its_window_starts_anew() -> None:
    monitor = Monitor()
    failing = SystemAlerted(
        level="error",
        code=rules.AGENT,
        message="m",
        subject="osint-agent",
        details={"agent_type": "osint", "last_error": "boom"},
    )
    rules.seed(monitor.state, [failing], T0)
    monitor.see(error(n=1), T0 + 1)

    assert monitor.decide(T0 + 1) == []
    assert monitor.decide(T0 + 300) == []  # 299 s after its last error
    assert codes(monitor.decide(T0 + 301)) == [(rules.AGENT, "osint-agent", True)]


# -- backlog, disk, chain ------------------------------------------------------------------


def test_the_backlog_raises_over_its_threshold_and_clears_only_under_80_percent() -> None:
    monitor = Monitor()
    monitor.state.queued = 100
    assert monitor.decide() == []
    monitor.state.queued = 101
    [backlog] = monitor.decide()
    assert (backlog.level, backlog.code, backlog.details) == (
        "warning",
        rules.BACKLOG,
        {"queued": 101, "threshold": 100},
    )
    monitor.state.queued = 80
    assert monitor.decide() == []  # under the threshold, not yet under 80% of it

    monitor.state.queued = 79
    assert codes(monitor.decide()) == [(rules.BACKLOG, "", True)]


def test_low_disk_raises_under_its_threshold_and_clears_only_over_120_percent() -> None:
    monitor = Monitor()
    monitor.state.disk_free = 499 * rules.MB
    [low] = monitor.decide()
    assert (low.level, low.code) == ("warning", rules.DISK)
    assert low.details == {"free_bytes": 499 * rules.MB, "threshold_bytes": 500 * rules.MB}
    monitor.state.disk_free = 600 * rules.MB
    assert monitor.decide() == []

    monitor.state.disk_free = 601 * rules.MB
    assert codes(monitor.decide()) == [(rules.DISK, "", True)]


def test_a_broken_chain_is_critical_until_a_check_passes() -> None:
    monitor = Monitor()
    monitor.state.verify = VerifyResult(
        ok=False, checked=36, head=100, first_bad_position=37, reason="stored hash does not match"
    )
    [broken] = monitor.decide()
    assert (broken.level, broken.code) == ("critical", rules.CHAIN)
    assert broken.details["first_bad_position"] == 37
    assert broken.details["reason"] == "stored hash does not match"
    assert monitor.decide() == []

    monitor.state.verify = VerifyResult(ok=True, checked=100, head=100)
    assert codes(monitor.decide()) == [(rules.CHAIN, "", True)]


def test_a_check_turned_off_clears_its_alert() -> None:
    monitor = Monitor()
    monitor.state.queued = 500
    monitor.decide()
    monitor.settings = replace(SETTINGS, backlog=0)

    [cleared] = monitor.decide()
    assert (cleared.code, cleared.cleared, cleared.message) == (
        rules.BACKLOG,
        True,
        "the backlog check is off",
    )


# -- webhooks ------------------------------------------------------------------------------


def test_a_webhook_the_deliverer_disabled_raises_and_clears_when_enabled_again() -> None:
    monitor = Monitor()
    gone = WebhookUpdated(webhook_id="w1", enabled=False, reason="the endpoint answered 410 Gone")
    monitor.see(gone, actor=DELIVERER)

    [disabled] = monitor.decide()
    assert (disabled.level, disabled.code, disabled.subject) == ("warning", rules.WEBHOOK, "w1")
    assert disabled.details == {"webhook_id": "w1", "reason": "the endpoint answered 410 Gone"}

    monitor.see(WebhookUpdated(webhook_id="w1", enabled=True, reason="changed by request"))
    [enabled] = monitor.decide()
    assert (enabled.subject, enabled.cleared, enabled.message) == (
        "w1",
        True,
        "webhook w1 was enabled again",
    )


def test_a_webhook_a_user_disabled_raises_nothing() -> None:
    monitor = Monitor()
    monitor.see(
        WebhookUpdated(webhook_id="w1", enabled=False, reason="changed by request"),
        actor="api",
    )
    assert monitor.decide() == []


def test_a_disabled_webhook_clears_when_deleted() -> None:
    monitor = Monitor()
    monitor.see(WebhookUpdated(webhook_id="w1", enabled=False), actor=DELIVERER)
    monitor.decide()
    monitor.see(WebhookDeleted(webhook_id="w1"))

    [cleared] = monitor.decide()
    assert cleared.message == "webhook w1 was deleted"


def test_a_stretch_where_an_alert_came_and_went_writes_nothing_when_decided_at_its_end() -> None:
    """What the monitor's catch-up at start relies on."""
    monitor = Monitor()
    monitor.see(WebhookUpdated(webhook_id="w1", enabled=False), actor=DELIVERER)
    monitor.see(WebhookUpdated(webhook_id="w1", enabled=True))
    for n in range(3):
        monitor.see(error(n=n), T0 + n)
    monitor.see(TaskCompleted(task_id="t", agent_id="osint-agent", result={}), T0 + 4)

    assert monitor.decide(T0 + 5) == []
    assert monitor.state.webhooks == {} and monitor.state.agents == {}  # nothing kept
