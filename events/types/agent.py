"""Events of agents (stream `agent-<id>`)."""

from __future__ import annotations

from typing import ClassVar

from events.envelope import EventData


class AgentErrored(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "agent.error"

    agent_id: str
    agent_type: str
    error: str
    task_id: str | None = None
    restarts: int = 0


class AgentConfigured(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "agent.configured"

    agent_id: str
    timeout: float
    max_concurrent_tasks: int
    priority: str
