"""What a workflow is made of: layers of steps, each with an input, an output Struct, a
retry policy and a timeout; and what a running step may do (`StepContext`).

A step's input is the workflow's parameters and the outputs of the steps before it; its
output is a msgspec Struct, recorded in its `workflow.step_completed` event. A step
does its outside work only through the context: `tasks` runs agents (child tasks with
stable ids, so a re-run step finds the ones it made), `ask` asks the AI router (each
answer recorded under a stable key, so a re-run step reuses it). Timeouts and retries
follow Temporal's activity defaults, shortened: 3 attempts, 1 s doubling up to 30 s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

import msgspec

from actors.agents.scope import Scopes

P = TypeVar("P", bound=msgspec.Struct)
Out = TypeVar("Out", bound=msgspec.Struct)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3
    initial: float = 1.0
    backoff: float = 2.0
    maximum: float = 30.0

    def delay(self, attempt: int) -> float | None:
        """Seconds before attempt `attempt + 1`; None when `attempt` was the last."""
        if attempt >= self.attempts:
            return None
        return float(min(self.initial * self.backoff ** (attempt - 1), self.maximum))


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    provider: str | None
    """None: no provider could answer (`error` says why)."""
    model: str | None = None
    content: str = ""
    error: str | None = None


class StepContext(Protocol):
    workflow_id: str
    step: str
    scopes: Scopes
    resources: Mapping[str, Any]
    """Outside services the node was configured with (`github`: a GitHubClient)."""

    def output(self, step: str, kind: type[Out]) -> Out:
        """What an earlier step returned."""
        ...

    async def tasks(self, specs: Sequence[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Run child tasks (task type, parameters) on the agents; their rows once ended."""
        ...

    async def ask(
        self, key: str, messages: list[dict[str, str]], providers: list[str] | None = None
    ) -> Answer:
        """One completion through the router, recorded under `key`."""
        ...

    async def log(self, level: str, message: str) -> None: ...

    async def history(self, step: str, limit: int = 20) -> list[dict[str, Any]]:
        """What `step` returned in this workflow type's last completed runs (learning)."""
        ...


@dataclass(frozen=True)
class Step(Generic[Out]):
    name: str
    layer: str
    run: Callable[[StepContext, Any], Awaitable[Out]]
    """Called with the context and the workflow's parsed parameters."""
    output: type[Out]
    retry: RetryPolicy = RetryPolicy()
    timeout: float = 600.0


@dataclass(frozen=True)
class WorkflowDef(Generic[P]):
    workflow_type: str
    params: type[P]
    layers: tuple[str, ...]
    steps: tuple[Step[Any], ...]
    result: Callable[[P, dict[str, dict[str, Any]]], dict[str, Any]]
    """The workflow's result from its parameters and every step's output."""
    check: Callable[[P, Scopes], None] | None = None
    """Refuses parameters that name something outside the scopes (OutOfScope)."""
    approve: Callable[[StepContext, P, list[str]], Awaitable[dict[str, Any]]] | None = None
    """Applies chosen results of a completed run (POST /workflows/{id}/approve); runs
    as the step `approve_step`, so AI answers it recorded are reused."""
    approve_step: str = ""
    defaults: Mapping[str, str] = field(default_factory=dict)
    """Operator settings (PUT /workflows/config) -> the parameter each one defaults;
    `timeout` (seconds for a whole run) applies to every type."""

    def layer_of(self, step: str) -> str:
        return next(s.layer for s in self.steps if s.name == step)
