"""Metrics: the node now, and a metric's history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from amas.sdk.models._base import Model


@dataclass(frozen=True, kw_only=True)
class NetworkIO(Model):
    bytes_sent: int | None = None
    bytes_received: int | None = None


@dataclass(frozen=True, kw_only=True)
class HostMetrics(Model):
    cpu_usage: float | None = None
    """None until the node's first host sample."""
    memory_usage: float | None = None
    disk_usage: float | None = None
    network_io: NetworkIO | None = None


@dataclass(frozen=True, kw_only=True)
class TaskPerformance(Model):
    active_tasks: int = 0
    queued_tasks: int = 0
    completed_tasks_1h: int = 0
    failed_tasks_1h: int = 0
    avg_task_duration: float | None = None


@dataclass(frozen=True, kw_only=True)
class AgentStates(Model):
    active: int = 0
    idle: int = 0
    error: int = 0


@dataclass(frozen=True, kw_only=True)
class Metrics(Model):
    timestamp: datetime
    system: HostMetrics
    performance: TaskPerformance
    agents: AgentStates


@dataclass(frozen=True, kw_only=True)
class DataPoint(Model):
    timestamp: datetime
    value: float | None = None


@dataclass(frozen=True, kw_only=True)
class MetricsHistory(Model):
    metric: str
    period: str
    agent_id: str | None = None
    interval_seconds: int = 0
    unit: str = ""
    data_points: list[DataPoint] = field(default_factory=list)
