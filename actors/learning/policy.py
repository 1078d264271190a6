"""The optimizer's policy: a contextual bandit trained in `amas_gym_v1`.

The context is the node's configuration (each pool's concurrency rung, each cacheable
type's caching flag); the arms are the actions. Training walks episodes in the
simulator: at each step every arm is tried from the same simulated moment (a copy of the
queues and of the random stream: common random numbers, so arms differ by what they do,
not by luck) and its window's reward moves that arm's value (step size LEARNING_RATE);
the episode then goes on with the epsilon-greedy arm (EXPLORATION). Repeated rounds on
the live node climb one rung at a time.

`train_round` is what the optimizer runs each round, in a worker process: train on the
fitted workload, then play the greedy policy and the static defaults (no action ever)
on the same fresh episodes and compare their throughput and p95 latency.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from actors.learning.gym_env import AmasGymV1, Workload

EXPLORATION = 0.1
LEARNING_RATE = 0.1
EVALUATION_EPISODES = 8
EPISODES = 30

State = tuple[int, ...]


@dataclass
class Policy:
    q: dict[State, list[float]] = field(default_factory=dict)
    actions: int = 1

    def values(self, state: State) -> list[float]:
        values = self.q.get(state)
        if values is None:
            values = self.q[state] = [0.0] * self.actions
        return values

    def best(self, state: State) -> int:
        values = self.q.get(state)
        if values is None:
            return 0  # never seen: keep things as they are
        return int(np.argmax(values))


@dataclass
class Played:
    reward: float
    """Mean reward per step."""
    completed: int
    p95: float
    """Mean over episodes of the per-step p95 latency, seconds."""


@dataclass
class RoundResult:
    episodes: int
    avg_reward: float
    policy: Policy
    trained: Played
    static: Played
    improvement: float
    exploration_rate: float = EXPLORATION
    learning_rate: float = LEARNING_RATE


def context(env: AmasGymV1) -> State:
    return (*env.config.rungs, *map(int, env.config.caching))


def train(
    env: AmasGymV1, episodes: int, seed: int, policy: Policy | None = None
) -> tuple[Policy, float]:
    """Returns the policy and the mean reward per step of the arms it followed."""
    policy = policy or Policy(actions=len(env.actions))
    rng = np.random.default_rng(seed)
    total, steps = 0.0, 0
    for episode in range(episodes):
        env.reset(seed=seed + episode)
        done = False
        while not done:
            state = context(env)
            values = policy.values(state)
            saved = copy.deepcopy((env.sim, env.config))
            for arm in range(policy.actions):
                env.sim, env.config = copy.deepcopy(saved)
                t = env.t
                _, reward, _, _, _ = env.step(arm)
                env.t = t
                values[arm] += LEARNING_RATE * (reward - values[arm])
            if rng.random() < EXPLORATION:
                action = int(rng.integers(policy.actions))
            else:
                action = policy.best(state)
            env.sim, env.config = saved
            _, reward, terminated, truncated, _ = env.step(action)
            done = terminated or truncated
            total += reward
            steps += 1
    return policy, total / max(steps, 1)


def play(env: AmasGymV1, policy: Policy | None, seeds: list[int]) -> Played:
    """The greedy policy (None: never act) on episodes with these seeds."""
    rewards: list[float] = []
    completed, p95s = 0, []
    for seed in seeds:
        env.reset(seed=seed)
        done = False
        while not done:
            action = 0 if policy is None else policy.best(context(env))
            _, reward, terminated, truncated, info = env.step(action)
            done = terminated or truncated
            rewards.append(reward)
            completed += info["completed"]
            p95s.append(info["p95"])
    return Played(float(np.mean(rewards)), completed, float(np.mean(p95s)))


def improvement(trained: Played, static: Played) -> float:
    """The larger of the p95 latency cut and the throughput gain (negative: worse)."""
    latency = 1.0 - trained.p95 / static.p95 if static.p95 > 0 else 0.0
    throughput = trained.completed / static.completed - 1.0 if static.completed else 0.0
    return max(latency, throughput)


def train_round(workload: Workload, episodes: int, seed: int) -> RoundResult:
    env = AmasGymV1(workload)
    policy, average = train(env, episodes, seed)
    seeds = [seed + 1_000_000 + i for i in range(EVALUATION_EPISODES)]
    trained, static = play(env, policy, seeds), play(env, None, seeds)
    return RoundResult(
        episodes=episodes,
        avg_reward=average,
        policy=policy,
        trained=trained,
        static=static,
        improvement=improvement(trained, static),
    )
