"""The alert monitor's decisions, pure: facts folded from events and polls, and which
alerts to raise or clear now. No I/O and no clock of its own (times are passed in).

An alert is a (code, subject) pair: raising it writes `system.alert` with its level, a
message and the facts in `details`; clearing it writes the same code and subject with
`cleared: true`, level info, and a message saying what cleared it. Alerts follow
transitions only: `decide` compares what holds now with the alerts still active, and
raises only what is not active, clears only what is.

    code                       level     subject     raised when / cleared when
    PROVIDER_CIRCUIT_OPEN      warning   provider    its breaker opened / it closed again, the
                                                     provider was disabled, or a node restart
                                                     gave it a fresh (closed) breaker
    ALL_PROVIDERS_UNAVAILABLE  critical  -           every provider a call may go to (enabled,
                                                     configured) is open or cooling down /
                                                     one answers again
    AGENT_FAILING              error     agent id    `agent_errors` agent.error within
                                                     `agent_window` / the agent completes a
                                                     task, or a whole window passes quietly
    TASK_BACKLOG               warning   -           queued tasks over `backlog` / under 80%
    WEBHOOK_DISABLED           warning   webhook id  the deliverer disabled it (not a user) /
                                                     enabled again, or deleted
    LOG_VERIFY_FAILED          critical  -           the hash chain breaks / a check passes
    DISK_LOW                   warning   -           the data folder's disk has less than
                                                     `disk_free_mb` free / over 120% of it

A check turned off (a threshold of 0) clears its alert.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from actors.alerts.facts import AgentFacts, AlertSettings, ProviderFacts, State, WebhookFacts
from events.types import SystemAlerted
from events.types.system import AlertLevel

CIRCUIT = "PROVIDER_CIRCUIT_OPEN"
ALL_PROVIDERS = "ALL_PROVIDERS_UNAVAILABLE"
AGENT = "AGENT_FAILING"
BACKLOG = "TASK_BACKLOG"
WEBHOOK = "WEBHOOK_DISABLED"
CHAIN = "LOG_VERIFY_FAILED"
DISK = "DISK_LOW"
CODES = frozenset({CIRCUIT, ALL_PROVIDERS, AGENT, BACKLOG, WEBHOOK, CHAIN, DISK})

BACKLOG_CLEARS = 0.8
DISK_CLEARS = 1.2
MB = 1 << 20


@dataclass(frozen=True)
class Now:
    at: float
    """Epoch seconds."""
    usable: frozenset[str]
    """The providers a call may go to at all: enabled and configured."""
    settings: AlertSettings


def seed(state: State, active: Iterable[SystemAlerted], at: float) -> None:
    """Start from the alerts still active in the log (after a restart): what raised them
    holds until an event or a poll says otherwise. When an agent last failed is not
    known, so its quiet window counts from `at`."""
    for alert in active:
        if alert.code not in CODES:
            continue
        state.active[(alert.code, alert.subject)] = alert
        details = alert.details
        if alert.code == AGENT:
            state.agents[alert.subject] = AgentFacts(
                agent_type=details.get("agent_type", ""),
                last_error=details.get("last_error", ""),
                last_error_at=at,
            )
        elif alert.code == WEBHOOK:
            state.webhooks[alert.subject] = WebhookFacts(details.get("reason", ""))


def decide(state: State, now: Now) -> list[SystemAlerted]:
    """The alerts to write now: each raised one not yet active, each cleared one active."""
    out = []
    for rule in RULES:
        for alert in rule(state, now):
            active = (alert.code, alert.subject) in state.active
            if alert.cleared == active:
                out.append(alert)
    return out


def record(state: State, written: Iterable[SystemAlerted], now: Now) -> None:
    """The alerts are in the log: note them, and forget facts that raise nothing more."""
    for alert in written:
        key = (alert.code, alert.subject)
        if alert.cleared:
            state.active.pop(key, None)
        else:
            state.active[key] = alert
    horizon = now.at - now.settings.agent_window
    for agent_id, agent in list(state.agents.items()):
        if (AGENT, agent_id) not in state.active and not any(t > horizon for t in agent.errors):
            del state.agents[agent_id]
    for webhook_id, webhook in list(state.webhooks.items()):
        if webhook.back is not None and (WEBHOOK, webhook_id) not in state.active:
            del state.webhooks[webhook_id]


def _raise(
    level: AlertLevel, code: str, message: str, subject: str = "", **details: Any
) -> SystemAlerted:
    return SystemAlerted(level=level, code=code, message=message, subject=subject, details=details)


def _clear(code: str, message: str, subject: str = "", **details: Any) -> SystemAlerted:
    return SystemAlerted(
        level="info", code=code, message=message, subject=subject, details=details, cleared=True
    )


def _subjects(state: State, code: str, known: Iterable[str]) -> list[str]:
    """The subjects a rule judges: those it has facts on, and those active in its code."""
    return sorted({*known, *(subject for c, subject in state.active if c == code)})


def _down(facts: ProviderFacts | None) -> bool:
    return facts is not None and (facts.breaker == "open" or facts.status != "active")


def provider_circuits(state: State, now: Now) -> list[SystemAlerted]:
    out = []
    for provider in _subjects(state, CIRCUIT, state.providers):
        facts = state.providers.get(provider)
        if facts is None:
            out.append(
                _clear(
                    CIRCUIT,
                    f"{provider}'s breaker is closed: the node restarted, breakers start closed",
                    provider,
                    provider=provider,
                    breaker="closed",
                )
            )
        elif provider not in now.usable:
            out.append(
                _clear(CIRCUIT, f"{provider} is no longer enabled", provider, provider=provider)
            )
        elif facts.breaker == "open":
            out.append(
                _raise(
                    "warning",
                    CIRCUIT,
                    f"{provider}'s circuit breaker opened: calls skip it until {facts.until}",
                    provider,
                    provider=provider,
                    breaker=facts.breaker,
                    status=facts.status,
                    reason=facts.reason,
                    until=facts.until,
                )
            )
        elif facts.breaker == "closed":
            out.append(
                _clear(
                    CIRCUIT,
                    f"{provider}'s circuit breaker closed again",
                    provider,
                    provider=provider,
                    breaker=facts.breaker,
                    status=facts.status,
                )
            )
    return out


def all_providers(state: State, now: Now) -> list[SystemAlerted]:
    usable = sorted(now.usable)
    up = [p for p in usable if not _down(state.providers.get(p))]
    if usable and not up:
        facts = {
            p: {"breaker": f.breaker, "status": f.status, "until": f.until}
            for p in usable
            if (f := state.providers.get(p)) is not None
        }
        return [
            _raise(
                "critical",
                ALL_PROVIDERS,
                f"no AI provider can take a call: all {len(usable)} are open or cooling down",
                providers=facts,
            )
        ]
    if up:
        return [_clear(ALL_PROVIDERS, f"{', '.join(up)} can take calls again", available=up)]
    return []


def failing_agents(state: State, now: Now) -> list[SystemAlerted]:
    settings, out = now.settings, []
    window = settings.agent_window
    for agent_id in _subjects(state, AGENT, state.agents):
        facts = state.agents.get(agent_id)
        if facts is None:
            continue
        recent = [t for t in facts.errors if t > now.at - window]
        if settings.agent_errors and len(recent) >= settings.agent_errors:
            out.append(
                _raise(
                    "error",
                    AGENT,
                    f"agent {agent_id} failed {len(recent)} times in {window:g} s:"
                    f" {facts.last_error}",
                    agent_id,
                    agent_id=agent_id,
                    agent_type=facts.agent_type,
                    errors=len(recent),
                    window_seconds=window,
                    last_error=facts.last_error,
                    task_id=facts.task_id,
                )
            )
        elif facts.completed is not None:
            out.append(
                _clear(
                    AGENT,
                    f"agent {agent_id} completed task {facts.completed}",
                    agent_id,
                    agent_id=agent_id,
                    task_id=facts.completed,
                )
            )
        elif now.at - facts.last_error_at >= window or not settings.agent_errors:
            out.append(
                _clear(
                    AGENT,
                    f"agent {agent_id} has not failed for {window:g} s",
                    agent_id,
                    agent_id=agent_id,
                )
            )
    return out


def backlog(state: State, now: Now) -> list[SystemAlerted]:
    limit, queued = now.settings.backlog, state.queued
    if not limit:
        return [_clear(BACKLOG, "the backlog check is off")]
    if queued is None:
        return []
    if queued > limit:
        return [
            _raise(
                "warning",
                BACKLOG,
                f"{queued} tasks are queued (more than {limit})",
                queued=queued,
                threshold=limit,
            )
        ]
    if queued < limit * BACKLOG_CLEARS:
        return [_clear(BACKLOG, f"{queued} tasks are queued now", queued=queued, threshold=limit)]
    return []


def webhooks(state: State, now: Now) -> list[SystemAlerted]:
    out = []
    for webhook_id in _subjects(state, WEBHOOK, state.webhooks):
        facts = state.webhooks.get(webhook_id)
        if facts is None:
            continue
        if facts.back is None:
            out.append(
                _raise(
                    "warning",
                    WEBHOOK,
                    f"webhook {webhook_id} was disabled: {facts.reason}",
                    webhook_id,
                    webhook_id=webhook_id,
                    reason=facts.reason,
                )
            )
        else:
            out.append(
                _clear(
                    WEBHOOK,
                    f"webhook {webhook_id} was {facts.back}",
                    webhook_id,
                    webhook_id=webhook_id,
                )
            )
    return out


def log_chain(state: State, now: Now) -> list[SystemAlerted]:
    result = state.verify
    if not now.settings.verify_every:
        return [_clear(CHAIN, "the hash-chain check is off")]
    if result is None:
        return []
    if not result.ok:
        return [
            _raise(
                "critical",
                CHAIN,
                f"the log's hash chain breaks at position {result.first_bad_position}:"
                f" {result.reason}",
                first_bad_position=result.first_bad_position,
                reason=result.reason,
                head=result.head,
            )
        ]
    return [_clear(CHAIN, f"the hash chain checks out to position {result.head}", head=result.head)]


def disk(state: State, now: Now) -> list[SystemAlerted]:
    limit, free = now.settings.disk_free_mb * MB, state.disk_free
    if not limit:
        return [_clear(DISK, "the disk check is off")]
    if free is None:
        return []
    if free < limit:
        return [
            _raise(
                "warning",
                DISK,
                f"{free / MB:.0f} MiB free on the data folder's disk"
                f" (less than {now.settings.disk_free_mb:g})",
                free_bytes=free,
                threshold_bytes=int(limit),
            )
        ]
    if free > limit * DISK_CLEARS:
        return [
            _clear(
                DISK,
                f"{free / MB:.0f} MiB free on the data folder's disk",
                free_bytes=free,
                threshold_bytes=int(limit),
            )
        ]
    return []


RULES: tuple[Callable[[State, Now], list[SystemAlerted]], ...] = (
    provider_circuits,
    all_providers,
    failing_agents,
    backlog,
    webhooks,
    log_chain,
    disk,
)
