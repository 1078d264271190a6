"""Events of agents (stream `agent-<id>`)."""

from __future__ import annotations

from typing import Any, ClassVar

from events.envelope import EventData


class AgentErrored(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "agent.error"

    agent_id: str
    agent_type: str
    error: str
    task_id: str | None = None
    restarts: int = 0


class AgentStarted(EventData, frozen=True, kw_only=True):
    """An agent came up: at node start, or restarted by its supervisor."""

    type_name: ClassVar[str] = "agent.started"

    agent_id: str
    agent_type: str
    name: str
    description: str = ""
    capabilities: dict[str, dict[str, Any]] = {}
    timeout: float = 300.0
    max_concurrent_tasks: int = 5
    priority: str = "normal"
    restarts: int = 0


class AgentConfigured(EventData, frozen=True, kw_only=True):
    type_name: ClassVar[str] = "agent.configured"

    agent_id: str
    timeout: float
    max_concurrent_tasks: int
    priority: str
