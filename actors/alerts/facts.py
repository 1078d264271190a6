"""What the alert rules know: the facts folded from the log and from polls, the alerts
still active, and the settings they are judged by."""

from __future__ import annotations

from dataclasses import dataclass, field

from actors.webhooks.delivery import ACTOR
from events.envelope import Event
from events.types import (
    AgentErrored,
    ProviderStateChanged,
    SystemAlerted,
    TaskCompleted,
    WebhookDeleted,
    WebhookUpdated,
)
from events.verify import VerifyResult

DELIVERER = ACTOR
"""The actor in the meta of the deliverer's own events (actors/webhooks/delivery.py)."""

Key = tuple[str, str]
"""(code, subject)."""


@dataclass(frozen=True)
class AlertSettings:
    """When the alert monitor raises what; a threshold of 0 turns its check off."""

    agent_errors: int = 3
    agent_window: float = 300.0
    """Seconds: `agent_errors` errors within it raise AGENT_FAILING; as long without
    one clears it."""
    backlog: int = 1000
    """Queued tasks."""
    disk_free_mb: float = 500.0
    """MiB free on the data folder's disk."""
    poll_every: float = 10.0
    """Seconds between looks at the backlog, the disk and the providers."""
    verify_every: float = 300.0
    """Seconds between hash-chain checks of the events appended since the last one."""
    verify_full_every: float = 86400.0
    """Seconds between checks of the whole log (the first check after a start is one)."""


@dataclass
class ProviderFacts:
    breaker: str
    status: str
    reason: str
    until: str | None


@dataclass
class AgentFacts:
    agent_type: str = ""
    errors: list[float] = field(default_factory=list)
    """When its recent errors happened (epoch seconds), oldest first."""
    last_error: str = ""
    last_error_at: float = 0.0
    task_id: str | None = None
    completed: str | None = None
    """A task it completed after its last error."""


@dataclass
class WebhookFacts:
    reason: str
    back: str | None = None
    """`enabled again` or `deleted`, once it is."""


@dataclass
class State:
    providers: dict[str, ProviderFacts] = field(default_factory=dict)
    """Breakers as this node's provider actors reported them (they start closed)."""
    agents: dict[str, AgentFacts] = field(default_factory=dict)
    webhooks: dict[str, WebhookFacts] = field(default_factory=dict)
    """Webhooks the deliverer disabled."""
    queued: int | None = None
    disk_free: int | None = None
    """Bytes."""
    verify: VerifyResult | None = None
    active: dict[Key, SystemAlerted] = field(default_factory=dict)


def fold(state: State, event: Event, settings: AlertSettings, live: bool = True) -> bool:
    """Take in what `event` tells; True if it changed anything a rule reads.

    Provider states count only `live`: before this node's start they described the
    breakers of actors that no longer run."""
    data = event.data
    match data:
        case ProviderStateChanged() if live:
            state.providers[data.provider] = ProviderFacts(
                data.breaker, data.status, data.reason, data.until
            )
        case AgentErrored():
            at = event.ts.timestamp()
            agent = state.agents.setdefault(data.agent_id, AgentFacts())
            agent.errors = [t for t in agent.errors if t > at - settings.agent_window] + [at]
            agent.agent_type, agent.task_id, agent.completed = data.agent_type, data.task_id, None
            agent.last_error, agent.last_error_at = data.error, at
        case TaskCompleted(agent_id=agent_id) if agent_id in state.agents:
            agent = state.agents[agent_id]
            agent.errors, agent.completed = [], data.task_id
        case WebhookUpdated(enabled=False) if event.meta.actor == DELIVERER:
            state.webhooks[data.webhook_id] = WebhookFacts(data.reason)
        case WebhookUpdated(enabled=True) if data.webhook_id in state.webhooks:
            state.webhooks[data.webhook_id].back = "enabled again"
        case WebhookDeleted() if data.webhook_id in state.webhooks:
            state.webhooks[data.webhook_id].back = "deleted"
        case _:
            return False
    return True
