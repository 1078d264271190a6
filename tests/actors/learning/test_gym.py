"""amas_gym_v1 and the optimizer's policy, in the simulator; the fitting from task rows."""

from __future__ import annotations

import random

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from actors.learning.fit import TaskRow, fit, measure
from actors.learning.gym_env import AmasGymV1, Pool, TypeLoad, Workload, ladder
from actors.learning.optimizer import impact
from actors.learning.policy import train_round


def bursty(seconds: int = 300, seed: int = 1) -> tuple[int, ...]:
    rng = random.Random(seed)
    return tuple(rng.choice([0, 0, 0, 0, 0, 0, 1, 2, 30]) for _ in range(seconds))


def workload(repeat_share: float = 0.0, low: int = 1, high: int = 20) -> Workload:
    return Workload(
        types=(TypeLoad("echo", "osint", bursty(), 0.5, 0.3, repeat_share, cacheable=True),),
        pools=(Pool("osint", agents=2, concurrency=5, low=low, high=high),),
    )


def test_the_environment_passes_gymnasiums_checker() -> None:
    check_env(AmasGymV1(workload()), skip_render_check=True)


def test_same_seed_same_episode() -> None:
    env = AmasGymV1(workload())
    runs = []
    for _ in range(2):
        env.reset(seed=3)
        runs.append([env.step(1)[1] for _ in range(4)])
    assert runs[0] == runs[1]


def test_actions_never_leave_the_operators_limits() -> None:
    env = AmasGymV1(workload(low=3, high=6))
    env.reset(seed=1)
    up = next(i for i, a in enumerate(env.actions) if a.name == "scale_up_workers")
    down = next(i for i, a in enumerate(env.actions) if a.name == "scale_down_workers")
    allowed = ladder(env.workload.pools[0])
    for action in [up] * 10 + [down] * 10 + [up] * 3:
        env.step(action)
        concurrency = allowed[env.config.rungs[0]]
        assert 3 <= concurrency <= 6
    assert allowed == [3, 4, 5, 6]
    # A move past a limit changes nothing and is marked invalid.
    env.config.rungs[0] = len(allowed) - 1
    assert env.step(up)[4]["valid"] is False


def test_the_policy_beats_the_static_defaults_on_bursts() -> None:
    result = train_round(workload(), episodes=10, seed=7)
    assert result.trained.p95 < result.static.p95
    assert result.improvement > 0.1


def test_with_repeats_the_policy_turns_caching_on() -> None:
    result = train_round(workload(repeat_share=0.6), episodes=10, seed=7)
    env = AmasGymV1(workload(repeat_share=0.6))
    env.reset(seed=0)
    # Whatever it does first, caching is on in its greedy walk within a few steps.
    chosen = []
    for _ in range(6):
        state = (*env.config.rungs, *map(int, env.config.caching))
        action = result.policy.best(state)
        chosen.append(env.actions[action].name)
        env.step(action)
    assert "enable_caching" in chosen


def test_fit_reads_arrivals_service_repeats_and_contention() -> None:
    rows = []
    for n in range(40):
        created = float(n // 4)  # four a second
        rows.append(
            TaskRow(
                task_type="echo",
                status="completed",
                parameters={"n": n % 10},
                agent_type="osint",
                created=created,
                started=created,
                ended=created + 0.5,
            )
        )
    pools = [Pool("osint", 2, 5)]
    fitted = fit(rows, 0.0, 10.0, pools, {"echo"}, set())

    (load,) = fitted.types
    assert load.arrivals == (4,) * 10
    assert load.service_mean == pytest.approx(0.5, rel=0.01)
    assert load.repeat_share == pytest.approx(30 / 40)
    assert fitted.contention == pytest.approx(0.0)
    window = measure(rows, 0.0, 5.0)
    assert (window.offered, window.completed) == (20, 20)
    assert np.isclose(window.p95, 0.5)


def test_impact_names_the_larger_change() -> None:
    assert impact(100, 2.0, 115, 1.9) == "15% throughput increase"
    assert impact(100, 2.0, 100, 1.54) == "23% latency reduction"
    assert impact(100, 2.0, 100, 3.0) == "50% latency increase"
