"""How a node learns: which scheduler it runs, how much the decision engine explores,
and what the optimizer may do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

SchedulerMode = Literal["fixed", "learned"]
OptimizerMode = Literal["off", "advise", "act"]


@dataclass(frozen=True)
class ConcurrencyLimits:
    """The concurrency per agent the optimizer may set for an agent type."""

    low: int = 1
    high: int = 20


@dataclass(frozen=True)
class LearningSettings:
    scheduler: SchedulerMode = "learned"
    """AMAS_SCHEDULER: `learned` (the decision engine) or `fixed` (priority, then load)."""
    exploration: float = 0.05
    """AMAS_LEARNING_EXPLORATION: the most decisions that may explore (0 to 0.2)."""
    optimizer: OptimizerMode = "advise"
    """AMAS_OPTIMIZER: `off`, `advise` (recommends; the operator applies) or `act`."""
    optimizer_every: float = 60.0
    """AMAS_OPTIMIZER_EVERY: seconds between two rounds (fit, train, choose, judge)."""
    limits: dict[str, ConcurrencyLimits] = field(default_factory=dict)
    """AMAS_OPTIMIZER_LIMITS (`security=2-10,osint=1-8`); types not named: `default_limits`."""
    default_limits: ConcurrencyLimits = ConcurrencyLimits()

    def limits_of(self, agent_type: str) -> ConcurrencyLimits:
        return self.limits.get(agent_type, self.default_limits)
