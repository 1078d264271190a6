"""The decision engine: which agent runs a task, chosen from what the log taught.

For a task of type T it weighs every agent that runs T (the seed's factors): its free
slots now (`agent_availability`) and its record on T (`performance_history`: seconds per
attempt, success rate; events/learning.py). An agent's expected time to a success is its
mean over its success rate; its cost for the task is when it can start plus that time.

When it can start: an agent's slots are a little timetable (`Horizon`): a free slot is
free now, a busy one frees when its task is expected to end (an overdue task is taken
to need half as long again as it has run). Tasks are planned in queue order; a task
whose cheapest agent has no free slot *waits* for it, and its reservation moves that
agent's timetable on, so the tasks behind it see the queue it forms. So a slow agent's
free slot goes to a task only when waiting for a faster one would take longer. The
fixed rule's choice (the operator's agent priorities, then load) stands unless another
agent is expected to finish at least MARGIN (and MIN_GAIN) sooner: noise in the figures
does not move work around, and agents never seen start out as the fixed rule would have
it.

Exploration is bounded: with more than one agent free, the engine may give the task to
the least-tried free agent that may still be the better one (fewer than MIN_TRIES tries,
or at least a DOUBT chance of being faster) instead, and does so only while explored
decisions stay within `exploration` (at most MAX_EXPLORATION) of all decisions: counted
from the log, so a restart cannot exceed it either.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from events.learning import Model, Stat
from events.types.learning import FACTORS, MlDecided

MAX_EXPLORATION = 0.2
MARGIN = 0.1
MIN_GAIN = 0.005
"""... and at least this many seconds sooner: below it, the hop to the agent and back
is as long as the gain (a task of a few milliseconds is not worth waiting for)."""
MIN_TRIES = 5
DOUBT = 0.05
"""An agent is explored only while it has had fewer than MIN_TRIES tasks of the type or
the chance that it is the better choice is at least DOUBT: a known slow agent is not
given work to learn what is already known."""
"""The fixed rule's choice (agent priority, then load) stands unless another agent is
expected to finish the task at least this much sooner."""


@dataclass
class Candidate:
    agent_id: str
    free: int
    """Free slots now."""
    running: Callable[[], list[tuple[str, float]]]
    """(task type, seconds it has run) of each task the agent runs; asked only when the
    agent's free slots are all booked (most decisions never need it)."""
    capacity: int


Estimate = tuple[float, float, Stat | None]
"""(expected seconds to a success, variance of that estimate, the record): Model.expected"""


@dataclass
class Horizon:
    """Each agent's slots as seconds from now until each is free, soonest first."""

    expected: Callable[[str, str], Estimate]
    slots: dict[str, list[float]] = field(default_factory=dict)
    unmerged: dict[str, Candidate] = field(default_factory=dict)
    """Agents whose running tasks are not in their timetable yet: while a slot is free
    now, when the others free does not matter."""

    def of(self, candidate: Candidate) -> list[float]:
        agent_id = candidate.agent_id
        slots = self.slots.get(agent_id)
        if slots is None:
            slots = self.slots[agent_id] = [0.0] * max(candidate.free, 0)
            self.unmerged[agent_id] = candidate
        if not slots or slots[0] > 0:
            self._merge(agent_id)  # its free slots are booked: when do the others free?
        return slots

    def soonest(self, agent_id: str) -> float:
        """Seconds until the agent's soonest slot frees (inf: not worked out)."""
        slots = self.slots.get(agent_id)
        if slots and slots[0] > 0:
            self._merge(agent_id)
        return slots[0] if slots else math.inf

    def take(self, agent_id: str, busy_for: float) -> None:
        """Book the agent's soonest slot for `busy_for` seconds after it frees."""
        slots = self.slots[agent_id]
        heapq.heapreplace(slots, slots[0] + busy_for)

    def _merge(self, agent_id: str) -> None:
        candidate = self.unmerged.pop(agent_id, None)
        if candidate is None:
            return
        slots = self.slots[agent_id]
        for task_type, elapsed in candidate.running():
            expected = self.expected(agent_id, task_type)[0]
            slots.append(max(expected - elapsed, elapsed / 2))
        slots.sort()
        del slots[max(candidate.capacity, 1) :]
        if not slots:
            slots.append(math.inf)  # no slot at all: never free


@dataclass
class Choice:
    agent_id: str
    decision: MlDecided


class DecisionEngine:
    def __init__(self, model: Model, exploration: float) -> None:
        if not 0.0 <= exploration <= MAX_EXPLORATION:
            raise ValueError(f"exploration must be within 0 and {MAX_EXPLORATION}")
        self.model = model
        self.exploration = exploration
        self._cached: tuple[int, int] = (0, -1)
        self._estimates: dict[tuple[str, str], Estimate] = {}
        self._history: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
        self.pending: dict[str, bool] = {}
        """task id -> explored, for decisions the log does not show yet"""

    def horizon(self) -> Horizon:
        return Horizon(self.expected)

    def expected(self, agent_id: str, task_type: str) -> Estimate:
        """Model.expected, kept until the model is retrained (it reads the trained
        figures only): a decision asks it a few times per candidate."""
        model = self.model
        if self._cached != (id(model), model.version):
            self._cached = (id(model), model.version)
            self._estimates.clear()
            self._history.clear()
        estimate = self._estimates.get((agent_id, task_type))
        if estimate is None:
            estimate = self._estimates[agent_id, task_type] = model.expected(agent_id, task_type)
        return estimate

    def settled(self, task_id: str) -> None:
        """The log now shows the decision for `task_id` (or it will never be made)."""
        self.pending.pop(task_id, None)

    def choose(
        self,
        task_id: str,
        task_type: str,
        attempt: int,
        candidates: list[Candidate],
        horizon: Horizon,
        baseline: Callable[[], str | None],
    ) -> Choice | None:
        """The agent for the task, or None: it waits for a busy agent (booked in
        `horizon`). `baseline` names the fixed rule's choice now."""
        started = time.perf_counter()
        model = self.model
        fixed = baseline()
        # An agent with no free slot costs at least its expected time: one that cannot
        # beat the fixed rule's (free) choice by the margin is not worked out further.
        bar = math.inf if fixed is None else _overruled_below(self.expected(fixed, task_type)[0])
        costs: dict[str, tuple[float, float, float]] = {}
        """agent -> (cost, expected seconds, variance of the estimate); for an agent
        left out as above, its expected time stands for its cost (a lower bound)"""
        for candidate in candidates:
            expected, variance, _ = self.expected(candidate.agent_id, task_type)
            if candidate.free > 0 or expected <= bar or candidate.agent_id in horizon.slots:
                soonest = horizon.of(candidate)[0]
            else:
                soonest = 0.0
            costs[candidate.agent_id] = (soonest + expected, expected, variance)
        ranked = sorted(costs, key=lambda agent: (costs[agent][0], agent))
        best = ranked[0]
        if fixed is not None and costs[best][0] > _overruled_below(costs[fixed][0]):
            best = fixed  # not enough better to overrule the operator's preferences
        if horizon.soonest(best) > 0.0:
            horizon.take(best, costs[best][1])
            return None
        chosen, explored = best, False
        free = [
            c
            for c in candidates
            if c.agent_id != best
            and horizon.soonest(c.agent_id) == 0
            and self._may_explore()
            and self._in_doubt(c.agent_id, task_type, costs[c.agent_id], costs[best])
        ]
        if free:
            chosen = min(
                free, key=lambda c: (self._tries(c.agent_id, task_type), c.agent_id)
            ).agent_id
            explored = True
        horizon.take(chosen, costs[chosen][1])
        others = [agent for agent in ranked if agent != chosen]
        confidence = _chance_lowest(costs[chosen], [costs[a] for a in others], MARGIN)
        self.pending[task_id] = explored
        decision = MlDecided(
            task_id=task_id,
            task_type=task_type,
            agent_id=chosen,
            attempt=attempt,
            confidence=round(confidence, 4),
            predicted=costs[chosen][1],
            explored=explored,
            baseline_agent=fixed,
            baseline_predicted=None if fixed is None else self.expected(fixed, task_type)[0],
            decision_time=time.perf_counter() - started,
            model_version=model.version,
            factors=self._factors(task_type, candidates),
        )
        return Choice(chosen, decision)

    def _factors(self, task_type: str, candidates: list[Candidate]) -> dict[str, Any]:
        """FACTORS and their values; the history is the same until a retrain."""
        agents = tuple(c.agent_id for c in candidates)
        history = self._history.get((task_type, agents))
        if history is None:
            history = self._history[task_type, agents] = {}
            for agent_id in agents:
                stat = self.expected(agent_id, task_type)[2]
                history[agent_id] = (
                    None
                    if stat is None
                    else {
                        "mean_duration": round(stat.mean, 6),
                        "success_rate": round(stat.success, 4),
                        "observations": stat.n,
                    }
                )
        values: dict[str, Any] = {
            "task_type": task_type,
            "agent_availability": {c.agent_id: c.free for c in candidates},
            "performance_history": history,
        }
        assert tuple(values) == FACTORS
        return values

    def _may_explore(self) -> bool:
        explored = self.model.explored + sum(self.pending.values())
        decisions = self.model.decisions + len(self.pending)
        return explored + 1 <= self.exploration * (decisions + 1)

    def _in_doubt(
        self,
        agent_id: str,
        task_type: str,
        cost: tuple[float, float, float],
        best: tuple[float, float, float],
    ) -> bool:
        """Worth trying: seen too little, or not clearly worse than the best."""
        seen = self._tries(agent_id, task_type)
        return seen < MIN_TRIES or _chance_lowest(cost, [best]) >= DOUBT

    def _tries(self, agent_id: str, task_type: str) -> int:
        stat = self.model.live.get(f"{agent_id}|{task_type}")
        return 0 if stat is None else stat.n


def _overruled_below(fixed_cost: float) -> float:
    """The cost another agent must stay under to overrule the fixed rule's choice."""
    return fixed_cost - max(MARGIN * fixed_cost, MIN_GAIN)


def _chance_lowest(
    chosen: tuple[float, float, float],
    others: Iterable[tuple[float, float, float]],
    margin: float = 0.0,
) -> float:
    """The chance that the chosen agent's cost is below every other's (within `margin`
    of it), each estimate taken as normal (independent comparisons; 0.5 against an agent
    never seen)."""
    chance = 1.0
    for other in others:
        variance = chosen[2] + other[2]
        gap = other[0] * (1.0 + margin) - chosen[0]
        if not math.isfinite(variance):
            chance *= 0.5
        elif variance == 0:
            chance *= 1.0 if gap > 0 else 0.5 if gap == 0 else 0.0
        else:
            chance *= 0.5 * (1.0 + math.erf(gap / math.sqrt(2 * variance)))
    return chance
