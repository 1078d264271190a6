"""What the decision engine and the optimizer decide, and the result cache's settings.

`ml.decision` rides in the task's stream, in the same append as the `task.started` it
explains. The optimizer's events are in the stream `optimizer`; result caching in
`cache`.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from events.envelope import EventData

FACTORS = ("task_type", "agent_availability", "performance_history")
"""What a decision weighs (the seed's names): the task's type, each candidate's free
slots, each candidate's observed duration and success for that type."""


class MlDecided(EventData, frozen=True, kw_only=True):
    """The decision engine chose the agent for one attempt of a task."""

    type_name: ClassVar[str] = "ml.decision"

    task_id: str
    task_type: str
    agent_id: str
    attempt: int
    confidence: float
    """The chance that no other candidate is more than the engine's margin (10%) faster
    than the chosen one (normal approximation of each estimate; 0.5 against each agent
    never seen); 1.0 with one candidate."""
    predicted: float
    """Seconds the chosen agent is expected to take (its success-weighted mean)."""
    explored: bool = False
    """Chosen to learn about an agent, not because it looked best."""
    baseline_agent: str | None = None
    """The fixed rule's choice at the same moment."""
    baseline_predicted: float | None = None
    decision_time: float = 0.0
    """Seconds the choice took."""
    model_version: int = 0
    """The model that chose: the number of retrains before it."""
    factors: dict[str, Any] = {}
    """FACTORS -> their values at the moment of the choice."""


OptimizerAction = Literal[
    "scale_up_workers", "scale_down_workers", "enable_caching", "disable_caching", "no_change"
]


class OptimizerTrained(EventData, frozen=True, kw_only=True):
    """A round of training in `amas_gym_v1`, on a workload fitted from the log."""

    type_name: ClassVar[str] = "rl.trained"

    environment: str
    episodes: int
    avg_reward: float
    """Mean reward per step over this round's episodes."""
    exploration_rate: float
    learning_rate: float
    policy_reward: float
    """Mean reward per step of the greedy policy, evaluated on fresh episodes."""
    static_reward: float
    """The same for the static defaults (no action ever), on the same episodes."""
    improvement: float
    """Simulated: 1 - policy p95 latency / static p95 latency (or the throughput gain,
    whichever the policy improved more); may be negative."""
    workload: dict[str, Any] = {}
    """What was fitted from the log: arrival rates, service times, cache hit shares."""


class OptimizerActed(EventData, frozen=True, kw_only=True):
    """The policy's choice for the live node: recommended (`advise`) or applied (`act`,
    or an operator applying a recommendation)."""

    type_name: ClassVar[str] = "rl.action"

    action_id: str
    action: OptimizerAction
    target: str
    """The agent type (workers) or task type (caching) it changes; '' for no_change."""
    applied: bool
    """False: only recommended."""
    value: int | bool | None = None
    """The new concurrency per agent, or caching on/off."""
    expected_reward: float = 0.0
    """The simulator's estimate of the reward, from the policy's Q-value."""
    state: dict[str, Any] = {}
    """The live state it acted on."""
    by: Literal["optimizer", "operator"] = "optimizer"
    recommendation_id: str | None = None
    """For an operator applying a recommendation: the recommendation's action id."""


class OptimizerRewarded(EventData, frozen=True, kw_only=True):
    """An applied action, judged: the live window after it against the one before."""

    type_name: ClassVar[str] = "rl.reward"

    action_id: str
    action: OptimizerAction
    reward: float
    impact: str
    """In words, e.g. '15% throughput increase' (from the two windows' figures)."""
    before: dict[str, float | None] = {}
    after: dict[str, float | None] = {}


class CachingConfigured(EventData, frozen=True, kw_only=True):
    """Result caching turned on or off for a task type."""

    type_name: ClassVar[str] = "cache.configured"

    task_type: str
    enabled: bool
