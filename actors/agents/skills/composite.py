"""A composite task: work split into parts that other task types do, on their agents.

No agent runs a composite task itself. At submit its parameters are checked like a
skill's; the task manager then creates one child task per part (`plan`), the scheduler
places each on an agent of its type, and when every part has ended the manager merges
their outcomes (`merge`) into the composite's result. The parts run together, each
with its own agent, progress, retries and timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

import msgspec

from actors.agents.scope import Scopes
from actors.agents.skills.base import parse_params

P = TypeVar("P", bound=msgspec.Struct)

PartStatus = Literal["queued", "working", "completed", "failed", "cancelled"]


class Part(msgspec.Struct, frozen=True, kw_only=True):
    task_type: str
    parameters: dict[str, Any]


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """How one part ended, as merge() sees it."""

    name: str
    task_id: str
    task_type: str
    agent_id: str | None
    status: PartStatus
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class Composite(Generic[P]):
    name: str
    params: type[P]
    plan: Callable[[P], dict[str, Part]]
    """Part name -> what runs it. Deterministic: a restart plans the same parts."""
    merge: Callable[[P, dict[str, Outcome]], dict[str, Any]]
    """The result, from every part's outcome (some may have failed)."""
    check_scope: Callable[[P, Scopes], None] | None = None

    def validate(self, parameters: dict[str, Any], scopes: Scopes) -> P:
        params = parse_params(parameters, self.params)
        if self.check_scope is not None:
            self.check_scope(params, scopes)
        return params

    def parts(self, parameters: dict[str, Any]) -> dict[str, Part]:
        return self.plan(parse_params(parameters, self.params))

    def result(self, parameters: dict[str, Any], outcomes: dict[str, Outcome]) -> dict[str, Any]:
        return self.merge(parse_params(parameters, self.params), outcomes)
