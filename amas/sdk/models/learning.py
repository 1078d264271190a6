"""The decision engine and the optimizer, as the seed's ML & Optimization section has
them (`/ml/decision-engine/status`, `/rl/optimizer/status`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from amas.sdk.models._base import Model


@dataclass(frozen=True, kw_only=True)
class DecisionEngineStatus(Model):
    status: str
    model_version: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    recent_decisions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class OptimizerAction(Model):
    """An action of the optimizer: recommended (`applied` false) or applied (by the
    optimizer or an operator), with its reward once judged."""

    action_id: str
    action: str
    target: str = ""
    value: Any = None
    applied: bool = False
    by: str = "optimizer"
    recommendation: str | None = None
    expected_reward: float | None = None
    reward: float | None = None
    impact: str | None = None
    at: str | None = None


@dataclass(frozen=True, kw_only=True)
class OptimizerStatus(Model):
    status: str
    environment: str | None = None
    metrics: dict[str, Any] = field(default_factory=dict)
    recent_optimizations: list[dict[str, Any]] = field(default_factory=list)
    current_policy: dict[str, Any] = field(default_factory=dict)
