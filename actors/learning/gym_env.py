"""`amas_gym_v1`: the node's queues as a Gymnasium environment, for the optimizer.

A `Workload` is what the log says about the node (actors/learning/fit.py): per task
type, the arrivals second by second, the service time (mean, spread) and the share of
tasks repeating an earlier task's parameters; per agent type (a pool), its agents,
their concurrency and the limits an operator set; how much each task running slows the
others (contention). The simulator replays arrivals by block bootstrap (each episode
starts at a random second of the observed series and wraps around), so bursts stay
bursts; service times are log-normal with the fitted mean and spread; a pool runs
`agents x concurrency` tasks at once, first come first served.

One step is WINDOW simulated seconds under the configuration the action leaves. The
reward is half the share of offered work done in the window and half a latency score
SLO / (SLO + p95), with SLO the workload's mean service time: 1.0 is all work done
with no wait. Actions: keep everything, raise or lower one pool's concurrency one rung
(within its limits; a move past them changes nothing and costs a little), turn result
caching on or off for one cacheable task type.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

ENVIRONMENT = "amas_gym_v1"
WINDOW = 20.0
"""Simulated seconds per step."""
STEPS = 12
"""Steps per episode."""
RUNGS = (1, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64)
INVALID_COST = 0.01


@dataclass(frozen=True)
class TypeLoad:
    task_type: str
    pool: str
    """The agent type that runs it."""
    arrivals: tuple[int, ...]
    """Tasks created in each second of the observed window."""
    service_mean: float
    """Seconds per task with nothing else running."""
    service_cv: float = 0.5
    repeat_share: float = 0.0
    """Share of its tasks whose parameters (and inputs) an earlier task had."""
    cacheable: bool = False


@dataclass(frozen=True)
class Pool:
    agent_type: str
    agents: int
    concurrency: int
    """Each agent's max_concurrent_tasks now."""
    low: int = 1
    high: int = 20


@dataclass(frozen=True)
class Workload:
    types: tuple[TypeLoad, ...]
    pools: tuple[Pool, ...]
    contention: float = 0.0
    """A task takes (1 + contention x tasks running on the node when it starts) times
    its service time."""
    caching: frozenset[str] = frozenset()
    """The task types with caching on now."""
    cache_seconds: float = 0.01
    """What a result served from the cache takes."""

    def to_builtins(self) -> dict[str, Any]:
        return {
            "types": {
                t.task_type: {
                    "pool": t.pool,
                    "arrival_rate": round(sum(t.arrivals) / max(len(t.arrivals), 1), 4),
                    "burst_peak": max(t.arrivals, default=0),
                    "service_mean": round(t.service_mean, 4),
                    "service_cv": round(t.service_cv, 4),
                    "repeat_share": round(t.repeat_share, 4),
                    "cacheable": t.cacheable,
                }
                for t in self.types
            },
            "pools": {
                p.agent_type: {
                    "agents": p.agents,
                    "concurrency": p.concurrency,
                    "limits": [p.low, p.high],
                }
                for p in self.pools
            },
            "contention": round(self.contention, 4),
            "caching": sorted(self.caching),
        }


def ladder(pool: Pool) -> list[int]:
    """The concurrencies the optimizer may choose for a pool, its current one included."""
    return sorted({r for r in RUNGS if pool.low <= r <= pool.high} | {pool.concurrency})


@dataclass
class Config:
    rungs: list[int]
    """Index into each pool's ladder."""
    caching: list[bool]
    """Per cacheable type."""


@dataclass(frozen=True)
class Action:
    name: str
    target: str
    index: int
    """The pool's or the cacheable type's index."""


def actions(workload: Workload) -> list[Action]:
    out = [Action("no_change", "", -1)]
    for i, pool in enumerate(workload.pools):
        out.append(Action("scale_up_workers", pool.agent_type, i))
        out.append(Action("scale_down_workers", pool.agent_type, i))
    for i, load in enumerate(t for t in workload.types if t.cacheable):
        out.append(Action("enable_caching", load.task_type, i))
        out.append(Action("disable_caching", load.task_type, i))
    return out


@dataclass
class WindowResult:
    offered: int
    completed: int
    latencies: list[float]
    backlog: int

    @property
    def p95(self) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def reward_of(result: WindowResult, slo: float) -> float:
    done = result.completed / result.offered if result.offered else 1.0
    return 0.5 * min(done, 1.0) + 0.5 * slo / (slo + result.p95)


@dataclass
class Simulator:
    """The queues of one episode, carried from step to step."""

    workload: Workload
    rng: np.random.Generator
    now: float = 0.0
    offset: int = 0
    queues: list[deque[tuple[float, int]]] = field(default_factory=list)
    running: list[int] = field(default_factory=list)
    ends: list[tuple[float, int, float]] = field(default_factory=list)
    """(end time, pool, arrival time) of running tasks"""

    def __post_init__(self) -> None:
        n = len(self.workload.pools)
        self.queues = [deque() for _ in range(n)]
        self.running = [0] * n
        longest = max((len(t.arrivals) for t in self.workload.types), default=1)
        self.offset = int(self.rng.integers(0, max(longest, 1)))
        self._pool_of = {p.agent_type: i for i, p in enumerate(self.workload.pools)}
        self._cacheable = [t.task_type for t in self.workload.types if t.cacheable]

    def backlog(self) -> int:
        return sum(map(len, self.queues))

    def capacity_used(self, config: Config) -> float:
        total = sum(self._capacity(config, i) for i in range(len(self.workload.pools)))
        return (self.backlog() + sum(self.running)) / max(total, 1)

    def _capacity(self, config: Config, pool: int) -> int:
        p = self.workload.pools[pool]
        return p.agents * ladder(p)[config.rungs[pool]]

    def run(self, config: Config, seconds: float) -> WindowResult:
        start, end = self.now, self.now + seconds
        offered = self.backlog() + sum(self.running)
        arrivals: list[tuple[float, int]] = []
        for type_index, load in enumerate(self.workload.types):
            if load.pool not in self._pool_of or not load.arrivals:
                continue
            for second in range(int(start), math.ceil(end)):
                count = load.arrivals[(self.offset + second) % len(load.arrivals)]
                for at in self.rng.uniform(second, second + 1, size=count):
                    if start <= at < end:
                        arrivals.append((float(at), type_index))
        arrivals.sort()
        offered += len(arrivals)
        caching = {t for t, on in zip(self._cacheable, config.caching, strict=True) if on}
        latencies: list[float] = []
        i = 0
        while True:
            next_arrival = arrivals[i][0] if i < len(arrivals) else math.inf
            next_end = self.ends[0][0] if self.ends else math.inf
            if min(next_arrival, next_end) >= end:
                break
            if next_end <= next_arrival:
                at, pool, arrived = heapq.heappop(self.ends)
                self.running[pool] -= 1
                latencies.append(at - arrived)
                self.now = at
                self._start(config, pool, caching)
            else:
                at, type_index = arrivals[i]
                i += 1
                self.now = at
                pool = self._pool_of[self.workload.types[type_index].pool]
                self.queues[pool].append((at, type_index))
                self._start(config, pool, caching)
        self.now = end
        return WindowResult(offered, len(latencies), latencies, self.backlog())

    def _start(self, config: Config, pool: int, caching: set[str]) -> None:
        queue, capacity = self.queues[pool], self._capacity(config, pool)
        while queue and self.running[pool] < capacity:
            arrived, type_index = queue.popleft()
            load = self.workload.types[type_index]
            if load.task_type in caching and self.rng.random() < load.repeat_share:
                seconds = self.workload.cache_seconds
            else:
                sigma2 = math.log1p(load.service_cv**2)
                mu = math.log(max(load.service_mean, 1e-6)) - sigma2 / 2
                seconds = float(self.rng.lognormal(mu, math.sqrt(sigma2)))
                seconds *= 1.0 + self.workload.contention * sum(self.running)
            self.running[pool] += 1
            heapq.heappush(self.ends, (self.now + seconds, pool, arrived))


class AmasGymV1(gym.Env[np.ndarray, np.int64]):
    """Observation: each pool's rung, each cacheable type's caching flag, and how full
    the node is (0: idle, 1: under half its capacity, 2: under full, 3: over)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(self, workload: Workload, steps: int = STEPS, window: float = WINDOW) -> None:
        self.workload = workload
        self.steps = steps
        self.window = window
        self.actions = actions(workload)
        self.ladders = [ladder(p) for p in workload.pools]
        cacheable = [t for t in workload.types if t.cacheable]
        self.initial = Config(
            rungs=[
                lad.index(p.concurrency)
                for lad, p in zip(self.ladders, workload.pools, strict=True)
            ],
            caching=[t.task_type in workload.caching for t in cacheable],
        )
        self.observation_space = spaces.MultiDiscrete(
            [len(lad) for lad in self.ladders] + [2] * len(cacheable) + [4], dtype=np.int64
        )
        self.action_space = spaces.Discrete(len(self.actions))
        total = sum(sum(t.arrivals) for t in workload.types) or 1
        self.slo = sum(t.service_mean * sum(t.arrivals) for t in workload.types) / total or 1.0
        self.config = Config(list(self.initial.rungs), list(self.initial.caching))
        self.sim: Simulator | None = None
        self.t = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.config = Config(list(self.initial.rungs), list(self.initial.caching))
        self.sim = Simulator(self.workload, self.np_random)
        self.t = 0
        return self._observe(), {}

    def step(self, action: np.int64 | int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        assert self.sim is not None, "call reset() first"
        chosen = self.actions[int(action)]
        valid = self.apply(self.config, chosen)
        result = self.sim.run(self.config, self.window)
        reward = reward_of(result, self.slo) - (0.0 if valid else INVALID_COST)
        self.t += 1
        info = {
            "offered": result.offered,
            "completed": result.completed,
            "p95": result.p95,
            "backlog": result.backlog,
            "valid": valid,
        }
        return self._observe(), float(reward), False, self.t >= self.steps, info

    def apply(self, config: Config, action: Action) -> bool:
        """Change `config` as `action` says; False if it would leave the limits."""
        match action.name:
            case "scale_up_workers" | "scale_down_workers":
                rung = config.rungs[action.index] + (1 if action.name == "scale_up_workers" else -1)
                if not 0 <= rung < len(self.ladders[action.index]):
                    return False
                config.rungs[action.index] = rung
            case "enable_caching" | "disable_caching":
                on = action.name == "enable_caching"
                if config.caching[action.index] == on:
                    return False
                config.caching[action.index] = on
        return True

    def observe(self, config: Config, fullness: float) -> np.ndarray:
        level = 0 if fullness == 0 else 1 if fullness < 0.5 else 2 if fullness <= 1 else 3
        return np.array([*config.rungs, *map(int, config.caching), level], dtype=np.int64)

    def _observe(self) -> np.ndarray:
        assert self.sim is not None
        return self.observe(self.config, self.sim.capacity_used(self.config))
