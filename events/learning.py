"""The decision engine's model, folded from the log.

What each agent took for each task type and how often it succeeded, learned from
`task.started` and the attempt's end; which decisions were made (`ml.decision`) and
whether their predictions held. The scheduler keeps one `Model` live and the
`learning` projection keeps another: both fold the same events in log order with the
same arithmetic, so a replay of the log rebuilds the scheduler's model bit for bit.

- An agent's time for a type is a running mean of its first 1/ALPHA attempts, then an
  exponentially weighted one (ALPHA), so it follows an agent that slows down; with it an
  exponentially weighted variance. Success counts one imagined success (ok + 1) / (n + 1):
  an agent is not thought unreliable before it has failed.
- Decisions use the `trained` copy of those figures. It is retrained (copied from the
  live figures, `version` + 1) every RETRAIN_EVERY observations, and at once when an
  (agent, type) pair is seen for the first time.
- A decision's prediction held if its attempt completed within HELD_WITHIN times the
  predicted seconds; `accuracy` is the share of judged decisions that held.
- Results served from the result cache teach nothing about an agent's speed.
"""

from __future__ import annotations

import math
from typing import Any

import msgspec

from events.clock import micros
from events.envelope import Event

ALPHA = 0.2
RETRAIN_EVERY = 10
HELD_WITHIN = 1.5
DEFAULT_SECONDS = 1.0
"""What a task type is assumed to take before any agent has run one."""

FOLDED = frozenset(
    {
        "task.started",
        "task.completed",
        "task.failed",
        "task.cancelled",
        "task.requeued",
        "ml.decision",
    }
)
"""The event types the model reads."""


class Stat(msgspec.Struct, kw_only=True):
    """One agent's record for one task type."""

    n: int = 0
    ok: int = 0
    mean: float = 0.0
    """Seconds per attempt."""
    var: float = 0.0

    def observe(self, seconds: float, ok: bool) -> None:
        self.n += 1
        self.ok += ok
        weight = max(ALPHA, 1.0 / self.n)
        delta = seconds - self.mean
        self.mean += weight * delta
        self.var = (1.0 - weight) * (self.var + weight * delta * delta)

    @property
    def success(self) -> float:
        return (self.ok + 1) / (self.n + 1)


class Running(msgspec.Struct, kw_only=True):
    agent_id: str
    task_type: str
    started: int
    """Microseconds since the epoch (the `task.started` commit)."""
    predicted: float | None = None


def key(agent_id: str, task_type: str) -> str:
    return f"{agent_id}|{task_type}"


class Model(msgspec.Struct, kw_only=True):
    position: int = 0
    """The last event folded in: an event at or before it is not folded again."""
    live: dict[str, Stat] = {}
    trained: dict[str, Stat] = {}
    version: int = 0
    """Retrains so far."""
    since_retrain: int = 0
    running: dict[str, Running] = {}
    decisions: int = 0
    explored: int = 0
    judged: int = 0
    held: int = 0
    decision_time: float = 0.0
    """Seconds spent choosing, over every decision."""
    chosen_predicted: float = 0.0
    baseline_predicted: float = 0.0
    """Predicted seconds of the chosen agents and of the fixed rule's choices, over the
    decisions that had a baseline."""

    # -- folding ------------------------------------------------------------------------

    def apply(self, event: Event) -> bool:
        """Fold one event in; False if it changed nothing (already folded, not ours)."""
        if event.position <= self.position or event.type not in FOLDED:
            return False
        self.position = event.position
        data = event.data
        match event.type:
            case "ml.decision":  # in the same append as the task.started it explains
                self._decided(data)
                self.running[data.task_id] = Running(
                    agent_id=data.agent_id,
                    task_type=data.task_type,
                    started=micros(event.ts),
                    predicted=data.predicted,
                )
            case "task.started":
                if data.agent_id is None or data.task_type is None:
                    return True
                known = self.running.get(data.task_id)
                if known is not None and known.agent_id == data.agent_id:
                    known.started = micros(event.ts)
                else:
                    self.running[data.task_id] = Running(
                        agent_id=data.agent_id, task_type=data.task_type, started=micros(event.ts)
                    )
            case "task.completed":
                self._ended(data.task_id, event, ok=True, teach=data.cached_from is None)
            case "task.failed" | "task.requeued":
                self._ended(data.task_id, event, ok=False, teach=data.agent_id is not None)
            case "task.cancelled":
                self.running.pop(data.task_id, None)
        return True

    def _decided(self, data: Any) -> None:
        self.decisions += 1
        self.explored += data.explored
        self.decision_time += data.decision_time
        if data.baseline_predicted is not None:
            self.chosen_predicted += data.predicted
            self.baseline_predicted += data.baseline_predicted

    def _ended(self, task_id: str, event: Event, ok: bool, teach: bool) -> None:
        running = self.running.pop(task_id, None)
        if running is None or not teach:
            return
        seconds = (micros(event.ts) - running.started) / 1_000_000
        pair = key(running.agent_id, running.task_type)
        stat = self.live.get(pair)
        if stat is None:
            stat = self.live[pair] = Stat()
        stat.observe(seconds, ok)
        if running.predicted is not None:
            self.judged += 1
            self.held += ok and seconds <= running.predicted * HELD_WITHIN
        self.since_retrain += 1
        if self.since_retrain >= RETRAIN_EVERY or pair not in self.trained:
            self.trained = {k: msgspec.structs.replace(v) for k, v in self.live.items()}
            self.version += 1
            self.since_retrain = 0

    # -- reading ------------------------------------------------------------------------

    @staticmethod
    def shown(data: Any) -> dict[str, Any]:
        """An ml.decision as the status shows it (the seed's keys, and the values)."""
        return {
            "task_id": data.task_id,
            "decision": "allocate_to_" + data.agent_id.replace("-", "_"),
            "agent_id": data.agent_id,
            "confidence": data.confidence,
            "predicted": data.predicted,
            "explored": data.explored,
            "factors": list(data.factors),
            "factor_values": data.factors,
        }

    def expected(self, agent_id: str, task_type: str) -> tuple[float, float, Stat | None]:
        """(expected seconds to a success, variance of that estimate, the record).

        An agent never seen on a type is assumed as fast as the best one seen on it
        (optimism that gets it tried), or DEFAULT_SECONDS if none was."""
        stat = self.trained.get(key(agent_id, task_type))
        if stat is None or stat.n == 0:
            known = [
                s.mean / s.success
                for k, s in self.trained.items()
                if s.n and k.endswith("|" + task_type)
            ]
            return (min(known) if known else DEFAULT_SECONDS), math.inf, None
        success = stat.success
        return stat.mean / success, stat.var / stat.n / (success * success), stat

    @property
    def accuracy(self) -> float | None:
        return self.held / self.judged if self.judged else None

    @property
    def optimization_score(self) -> float | None:
        """The share of the fixed rule's predicted time the chosen agents saved."""
        if self.baseline_predicted <= 0:
            return None
        return 1.0 - self.chosen_predicted / self.baseline_predicted


model_encoder = msgspec.json.Encoder()
model_decoder = msgspec.json.Decoder(Model)
