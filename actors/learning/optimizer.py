"""The optimizer: every `optimizer_every` seconds, one round on the node's event loop.

1. Judge: each applied action not judged yet whose window after it has passed gets its
   reward (`rl.reward`): how much the window score (the simulator's reward) rose from the
   window before it to the window after it, and that change in words.
2. Fit: the tasks of the last `window` seconds give `amas_gym_v1` its workload
   (actors/learning/fit.py); no task, no round.
3. Train: a contextual bandit on that workload, in a worker process (CPU-bound numpy and
   Python off the node's loop), then tested against the static defaults (`rl.trained`).
4. Choose: the policy's action for the node's configuration now. `advise` records it
   (`rl.action`, applied false); `act` applies it through the normal commands, within
   the operator's limits (agent.configure for each agent of the type; cache.configured),
   and records it applied. `no_change` is not recorded.

The optimizer never acts on a replay: it runs on the clock, and what it did is read
back from the log (the `learning` read model), so a restart neither repeats an action
nor forgets to judge one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ParamSpec, Protocol, TypeVar

import aiosqlite

from actors.agents.catalog import AgentSpec
from actors.learning.fit import TaskRow, fit, measure
from actors.learning.gym_env import (
    ENVIRONMENT,
    AmasGymV1,
    Pool,
    WindowResult,
    Workload,
    ladder,
    reward_of,
)
from actors.learning.policy import EPISODES, RoundResult, context, train_round
from actors.learning.settings import LearningSettings
from events.clock import iso
from events.commands import ApplyOptimization, Reply, ReplyFn, rejected
from events.envelope import Meta
from events.ids import new_prefixed_id
from events.queries import learning as queries
from events.store import ANY_VERSION, EventStore
from events.types.learning import (
    CachingConfigured,
    OptimizerActed,
    OptimizerRewarded,
    OptimizerTrained,
)
from events.vocabulary import ErrorCode

log = logging.getLogger(__name__)

STREAM = "optimizer"
JUDGED_AFTER = 10
"""An action is judged once the window after it was offered this many tasks, or after
JUDGE_WITHIN windows whatever it had."""
JUDGE_WITHIN = 10
ACTOR = "optimizer"


@dataclass(frozen=True)
class Round:
    result: RoundResult
    """The training and its test against the static defaults."""
    acted: OptimizerActed | None
    """What it recommended or applied (None: keep things as they are)."""


Configure = Callable[[str, int], Awaitable[bool]]
"""Set an agent's max_concurrent_tasks through its command; False if refused."""

P = ParamSpec("P")
R = TypeVar("R")


class Offload(Protocol):
    """A process of the node's for CPU-bound work (numpy and Python off its loop)."""

    async def run(self, job: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R: ...


class Optimizer:
    def __init__(
        self,
        store: EventStore,
        reader: aiosqlite.Connection,
        settings: LearningSettings,
        specs: Callable[[], Sequence[AgentSpec]],
        caching: Callable[[], set[str]],
        cacheable: set[str],
        configure: Configure,
        offload: Offload,
        window: float | None = None,
        episodes: int = EPISODES,
    ) -> None:
        self.store = store
        self.reader = reader
        self.settings = settings
        self.specs = specs
        self.caching = caching
        self.cacheable = cacheable
        self.configure = configure
        self.offload = offload
        self.window = window or max(settings.optimizer_every, 60.0)
        self.episodes = episodes
        self._running: set[asyncio.Task[Reply]] = set()

    async def run(self) -> None:
        if self.settings.optimizer == "off":
            return
        while True:
            await asyncio.sleep(self.settings.optimizer_every)
            try:
                await self.round()
            except Exception:
                log.exception("optimizer round failed")

    async def round(self, now: float | None = None) -> Round | None:
        """One round; None if the window had no finished task to learn from."""
        now = time.time() if now is None else now
        await self.judge(now)
        start = now - self.window
        rows = await self._rows(start)
        recent = [r for r in rows if r.created >= start]
        if not any(r.ended is not None for r in recent):
            return None
        workload = fit(recent, start, now, self._pools(), self.cacheable, self.caching())
        if not workload.types:
            return None
        result = await self._train(workload, seed=self.store.head)
        await self._append(
            OptimizerTrained(
                environment=ENVIRONMENT,
                episodes=result.episodes,
                avg_reward=result.avg_reward,
                exploration_rate=result.exploration_rate,
                learning_rate=result.learning_rate,
                policy_reward=result.trained.reward,
                static_reward=result.static.reward,
                improvement=result.improvement,
                workload=workload.to_builtins(),
            )
        )
        return Round(result, await self._choose(workload, result))

    # -- the steps ----------------------------------------------------------------------

    async def _train(self, workload: Workload, seed: int) -> RoundResult:
        return await self.offload.run(train_round, workload, self.episodes, seed)

    async def _choose(self, workload: Workload, result: RoundResult) -> OptimizerActed | None:
        env = AmasGymV1(workload)
        env.reset(seed=0)
        now = context(env)
        arm = result.policy.best(now)
        action = env.actions[arm]
        if action.name == "no_change":
            return None
        config = env.config
        if not env.apply(config, action):
            return None  # the policy never learned past the limits; nothing to do
        if action.name.endswith("_workers"):
            pool = workload.pools[action.index]
            value: int | bool = ladder(pool)[config.rungs[action.index]]
        else:
            value = action.name == "enable_caching"
        state = {
            "pools": {p.agent_type: p.concurrency for p in workload.pools},
            "caching": sorted(workload.caching),
        }
        applied = self.settings.optimizer == "act" and await self.apply(
            action.name, action.target, value
        )
        acted = OptimizerActed(
            action_id=new_prefixed_id("opt"),
            action=action.name,  # type: ignore[arg-type]
            target=action.target,
            applied=applied,
            value=value,
            expected_reward=result.policy.values(now)[arm],
            state=state,
        )
        await self._append(acted)
        return acted

    def command(self, command: Any, reply: ReplyFn) -> None:
        """An operator applies a recommendation (amas.cmd.optimizer.apply)."""
        if not isinstance(command, ApplyOptimization):
            reply(rejected(ErrorCode.INVALID_PARAMETER, f"not for the optimizer: {command!r}"))
            return
        task = asyncio.get_running_loop().create_task(self._apply_recommended(command))
        self._running.add(task)
        task.add_done_callback(self._running.discard)
        task.add_done_callback(lambda done: reply(done.result()))

    async def _apply_recommended(self, command: ApplyOptimization) -> Reply:
        found = await queries.optimizer_actions(self.reader, 1, command.action_id)
        if not found:
            return rejected(
                ErrorCode.NOT_FOUND,
                f"no recommendation {command.action_id!r}",
                action_id=command.action_id,
            )
        recommended = found[0]
        taken = await queries.applied_recommendation(self.reader, command.action_id)
        if recommended["applied"] or taken is not None:
            return rejected(
                ErrorCode.CONFLICT,
                f"{command.action_id} is already applied",
                action_id=taken or command.action_id,
            )
        action, target, value = recommended["action"], recommended["target"], recommended["value"]
        if not await self.apply(action, target, value):
            return rejected(
                ErrorCode.CONFLICT,
                f"{action} {target} -> {value} is outside the limits, or was refused",
                action=action,
                target=target,
                value=value,
            )
        acted = OptimizerActed(
            action_id=new_prefixed_id("opt"),
            action=action,
            target=target,
            applied=True,
            value=value,
            expected_reward=recommended["expected_reward"],
            state=recommended["state"],
            by="operator",
            recommendation_id=command.action_id,
        )
        result = await self.store.append(STREAM, ANY_VERSION, [acted], command.meta)
        return Reply(ok=True, position=result.last_position, data={"action_id": acted.action_id})

    async def apply(self, action: str, target: str, value: int | bool) -> bool:
        """Through the normal commands, inside the operator's limits."""
        if action.endswith("_workers"):
            limits = self.settings.limits_of(target)
            if not isinstance(value, int) or not limits.low <= value <= limits.high:
                return False
            agents = [s.agent_id for s in self.specs() if s.agent_type == target]
            results = [await self.configure(agent_id, value) for agent_id in agents]
            return bool(results) and all(results)
        if target not in self.cacheable:
            return False
        await self._append(CachingConfigured(task_type=target, enabled=bool(value)), "cache")
        return True

    async def judge(self, now: float) -> None:
        """Reward each applied action whose window after it has passed: the change of
        the window score (the simulator's reward, its SLO the p95 before) from the
        `window` seconds before it to the `window` seconds after it."""
        window = self.window
        for action in await queries.optimizer_actions(self.reader, limit=20):
            if not action["applied"] or action["reward"] is not None:
                continue
            at = _epoch(action["at"])
            if at + window > now:
                continue
            rows = await self._rows(at - window)
            before, after = measure(rows, at - window, at), measure(rows, at, at + window)
            if after.offered < JUDGED_AFTER and at + JUDGE_WITHIN * window > now:
                continue  # too little work after it yet; a later window may bring some
            slo = before.p95 or 1.0
            await self._append(
                OptimizerRewarded(
                    action_id=action["action_id"],
                    action=action["action"],
                    reward=round(reward_of(after, slo) - reward_of(before, slo), 4),
                    impact=impact(_done(before), before.p95, _done(after), after.p95),
                    before={"completed": before.completed, "p95": before.p95},
                    after={"completed": after.completed, "p95": after.p95},
                )
            )

    # -- reading the node ------------------------------------------------------------------

    def _pools(self) -> list[Pool]:
        by_type: dict[str, list[AgentSpec]] = {}
        for spec in self.specs():
            by_type.setdefault(spec.agent_type, []).append(spec)
        pools = []
        for agent_type, specs in sorted(by_type.items()):
            limits = self.settings.limits_of(agent_type)
            concurrency = max(s.max_concurrent_tasks for s in specs)
            pools.append(
                Pool(
                    agent_type=agent_type,
                    agents=len(specs),
                    concurrency=concurrency,
                    low=min(limits.low, concurrency),
                    high=max(limits.high, concurrency),
                )
            )
        return pools

    async def _rows(self, since: float) -> list[TaskRow]:
        rows = await queries.tasks_since(self.reader, iso(datetime.fromtimestamp(since, UTC)))
        return [
            TaskRow(
                task_type=row["task_type"],
                status=row["status"],
                parameters=row["parameters"],
                agent_type=row["agent_type"],
                created=_epoch(row["created"]),
                started=None if row["started"] is None else _epoch(row["started"]),
                ended=None if row["ended"] is None else _epoch(row["ended"]),
            )
            for row in rows
        ]

    async def _append(self, data: object, stream: str = STREAM) -> None:
        await self.store.append(stream, ANY_VERSION, [data], Meta(actor=ACTOR))  # type: ignore[list-item]


def impact(before_done: float, before_p95: float, after_done: float, after_p95: float) -> str:
    """The larger change, in words: '15% throughput increase', '23% latency reduction'.
    Throughput is the share of the offered work done in the window: the windows around
    an action need not have been offered as much."""
    throughput = after_done / before_done - 1.0 if before_done else 0.0
    latency = 1.0 - after_p95 / before_p95 if before_p95 else 0.0
    if abs(throughput) >= abs(latency):
        word = "increase" if throughput >= 0 else "decrease"
        return f"{abs(throughput):.0%} throughput {word}"
    word = "reduction" if latency >= 0 else "increase"
    return f"{abs(latency):.0%} latency {word}"


def _done(window: WindowResult) -> float:
    return window.completed / window.offered if window.offered else 0.0


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()
