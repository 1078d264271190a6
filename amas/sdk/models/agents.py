"""Agents: the fleet, one agent's capabilities and configuration."""

from __future__ import annotations

from dataclasses import dataclass, field

from amas.sdk.models._base import Model


@dataclass(frozen=True, kw_only=True)
class AgentPerformance(Model):
    tasks_completed: int = 0
    tasks_failed: int = 0
    success_rate: float | None = None
    avg_completion_time: float | None = None
    running_tasks: int = 0


@dataclass(frozen=True, kw_only=True)
class AgentSummary(Model):
    """An agent as `agents.list()` shows it: capabilities by name."""

    id: str
    name: str
    type: str
    status: str
    capabilities: list[str] = field(default_factory=list)
    performance: AgentPerformance | None = None


@dataclass(frozen=True, kw_only=True)
class Capability(Model):
    description: str = ""
    parameters: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class AgentConfiguration(Model):
    timeout: float | None = None
    max_concurrent_tasks: int | None = None
    priority: str | None = None


@dataclass(frozen=True, kw_only=True)
class Agent(Model):
    """One agent: each capability with its parameters, configuration, performance."""

    id: str
    name: str
    type: str
    status: str
    description: str = ""
    capabilities: dict[str, Capability] = field(default_factory=dict)
    configuration: AgentConfiguration | None = None
    performance: AgentPerformance | None = None
    restarts: int = 0
    last_error: str | None = None


@dataclass(frozen=True, kw_only=True)
class AgentConfigUpdate(Model):
    id: str
    configuration: AgentConfiguration
    status: str
    message: str = ""
