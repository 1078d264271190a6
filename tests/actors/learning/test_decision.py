"""The decision engine: its model folded from events, its choices, its exploration bound."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from actors.learning.decision import MAX_EXPLORATION, Candidate, DecisionEngine
from events.envelope import Event, Meta
from events.learning import RETRAIN_EVERY, Model, model_decoder, model_encoder
from events.types import TaskCompleted, TaskFailed, TaskStarted
from events.types.learning import FACTORS, MlDecided

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Log:
    """Events with positions and timestamps, as the store would give them."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, data: Any, at: float) -> Event:
        event = Event(
            event_id=f"e{len(self.events)}",
            stream="s",
            version=1,
            position=len(self.events) + 1,
            type=data.type_name,
            schema=1,
            data=data,
            meta=Meta(),
            ts=T0 + timedelta(seconds=at),
            hash="",
        )
        self.events.append(event)
        return event

    def run(
        self, task_id: str, agent_id: str, start: float, seconds: float, ok: bool = True
    ) -> None:
        self.add(TaskStarted(task_id=task_id, agent_id=agent_id, task_type="echo"), start)
        end = start + seconds
        if ok:
            self.add(TaskCompleted(task_id=task_id, agent_id=agent_id, result={}), end)
        else:
            self.add(TaskFailed(task_id=task_id, agent_id=agent_id, reason="error"), end)


def folded(log: Log) -> Model:
    model = Model()
    for event in log.events:
        model.apply(event)
    return model


def test_the_model_learns_each_agents_time_and_success_by_type() -> None:
    log = Log()
    for n in range(8):
        log.run(f"f{n}", "fast", n, 1.0)
        log.run(f"s{n}", "slow", n, 4.0, ok=n % 2 == 0)

    model = folded(log)

    fast, slow = model.live["fast|echo"], model.live["slow|echo"]
    assert (fast.n, fast.ok, fast.mean) == (8, 8, pytest.approx(1.0))
    assert (slow.n, slow.ok, slow.mean) == (8, 4, pytest.approx(4.0))
    # Decisions read the last retrain's figures: the mean over the success rate.
    for agent in ("fast", "slow"):
        trained = model.trained[f"{agent}|echo"]
        assert 0 < trained.n <= 8
        assert model.expected(agent, "echo")[0] == trained.mean / trained.success


def test_retrains_count_every_n_observations_and_each_new_pair() -> None:
    log = Log()
    for n in range(RETRAIN_EVERY * 2):
        log.run(f"t{n}", "a", n, 1.0)
    log.run("b0", "b", 100, 1.0)

    model = folded(log)

    # The first observation of a pair retrains at once; then every RETRAIN_EVERY.
    assert model.version == 1 + 1 + 1
    assert model.trained["b|echo"].n == 1


def test_an_event_folded_twice_changes_nothing_and_the_model_survives_json() -> None:
    log = Log()
    log.run("t1", "a", 0, 2.0)
    model = folded(log)
    again = model_decoder.decode(model_encoder.encode(model))

    for event in log.events:
        assert not again.apply(event)
    assert again == model


def candidates(fast_free: int, slow_free: int, running: float = 0.5) -> list[Candidate]:
    return [
        Candidate(
            agent_id="fast",
            free=fast_free,
            running=lambda: [("echo", running)] * (2 - fast_free),
            capacity=2,
        ),
        Candidate(
            agent_id="slow",
            free=slow_free,
            running=lambda: [("echo", running)] * (2 - slow_free),
            capacity=2,
        ),
    ]


def trained_engine(exploration: float = 0.0) -> DecisionEngine:
    log = Log()
    for n in range(RETRAIN_EVERY):
        log.run(f"f{n}", "fast", n, 1.0)
        log.run(f"s{n}", "slow", n, 4.0)
    return DecisionEngine(folded(log), exploration)


def test_a_task_waits_for_a_fast_agent_rather_than_run_on_a_slow_one() -> None:
    engine = trained_engine()
    horizon = engine.horizon()
    able = candidates(fast_free=0, slow_free=2)

    # The fast agent frees a slot in ~0.6 s and then needs ~1.1 s; the slow one ~4.4 s.
    assert engine.choose("t1", "echo", 1, able, horizon, lambda: "slow") is None
    # Those behind it see the queue it formed, and the slow agent wins once it is long.
    choices = [
        engine.choose(f"t{n}", "echo", 1, able, horizon, lambda: "slow") for n in range(2, 9)
    ]
    placed = [c for c in choices if c is not None]
    assert placed and placed[0].agent_id == "slow"
    assert choices.index(placed[0]) >= 3


def test_a_free_fast_agent_is_chosen_and_the_decision_names_its_factors() -> None:
    engine = trained_engine()
    choice = engine.choose("t1", "echo", 1, candidates(1, 2), engine.horizon(), lambda: "slow")

    assert choice is not None and choice.agent_id == "fast"
    decision = choice.decision
    assert isinstance(decision, MlDecided)
    assert tuple(decision.factors) == FACTORS
    assert decision.factors["agent_availability"] == {"fast": 1, "slow": 2}
    slow = engine.model.trained["slow|echo"]
    assert decision.factors["performance_history"]["slow"]["observations"] == slow.n > 0
    assert decision.baseline_agent == "slow"
    assert decision.predicted < decision.baseline_predicted  # type: ignore[operator]
    assert 0.99 < decision.confidence <= 1.0


def test_without_evidence_the_fixed_rules_choice_stands() -> None:
    engine = DecisionEngine(Model(), 0.0)
    choice = engine.choose("t1", "echo", 1, candidates(2, 2), engine.horizon(), lambda: "slow")

    assert choice is not None and choice.agent_id == "slow"
    assert choice.decision.confidence == 0.5  # nothing known about either


def even_engine(exploration: float) -> DecisionEngine:
    """Two agents about as fast, with a spread: each may be the better one."""
    log = Log()
    for n in range(RETRAIN_EVERY):
        log.run(f"f{n}", "fast", n, 1.0 + (n % 3) * 0.5)
        log.run(f"s{n}", "slow", n, 1.1 + (n % 3) * 0.5)
    return DecisionEngine(folded(log), exploration)


@pytest.mark.parametrize("bound", [0.0, 0.05, 0.2])
def test_exploration_stays_within_its_bound(bound: float) -> None:
    engine = even_engine(bound)
    log = Log()
    for n in range(400):
        choice = engine.choose(
            f"x{n}", "echo", 1, candidates(2, 2), engine.horizon(), lambda: "slow"
        )
        assert choice is not None
        engine.model.apply(log.add(choice.decision, 1000 + n))
        engine.settled(f"x{n}")

    explored = engine.model.explored
    assert explored <= bound * engine.model.decisions
    if bound:
        assert explored >= bound * engine.model.decisions - 1  # it does explore, up to it


def test_a_clearly_slower_agent_is_not_explored() -> None:
    engine = trained_engine(0.2)  # slow: 4 s a task against 1 s, ten times each
    for n in range(50):
        choice = engine.choose(
            f"x{n}", "echo", 1, candidates(2, 2), engine.horizon(), lambda: "slow"
        )
        assert choice is not None and not choice.decision.explored


def test_pending_decisions_count_against_the_bound() -> None:
    """Decisions not yet back from the log still count: a burst cannot overshoot."""
    engine = even_engine(0.1)
    explored = 0
    for n in range(100):
        choice = engine.choose(
            f"x{n}", "echo", 1, candidates(2, 2), engine.horizon(), lambda: "slow"
        )
        assert choice is not None
        explored += choice.decision.explored
    assert explored <= 0.1 * 100


def test_exploration_above_the_maximum_is_refused() -> None:
    with pytest.raises(ValueError):
        DecisionEngine(Model(), MAX_EXPLORATION + 0.01)
