"""A skill: the parameters it takes (a Struct), the targets it may touch, the work.

The same Struct is checked twice: at submit by the task manager (a bad parameter is a
400 naming it, a target outside the scope a 403) and again when an agent runs the task,
so a skill always works on typed, checked parameters.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import msgspec

from actors.agents.scope import Scopes
from actors.errors import InvalidParameter

Progress = Callable[[int, str], Awaitable[None]]
"""Report progress (0-100) and what is happening; cheap, may be dropped."""

P = TypeVar("P", bound=msgspec.Struct)


TaskReader = Callable[[str], Awaitable[dict[str, Any] | None]]
"""A task as the tasks projection holds it (status, result ...), or None if unknown."""


async def _no_tasks(task_id: str) -> dict[str, Any] | None:
    return None


@dataclass(frozen=True)
class Context:
    """What a running skill may know besides its parameters."""

    scopes: Scopes
    parameters: dict[str, Any]
    """The parameters as submitted (the Struct drops what it does not name)."""
    read_task: TaskReader = _no_tasks
    """Earlier tasks, for skills that build on their results (threat_analysis, reports)."""


@dataclass(frozen=True)
class Skill(Generic[P]):
    name: str
    params: type[P]
    run: Callable[[P, Progress, Context], Awaitable[dict[str, Any]]]
    check_scope: Callable[[P, Scopes], None] | None = None
    """Raises OutOfScope for a target outside `scopes`, before any work."""
    inputs: Callable[[P, Scopes], bytes] | None = None
    """A fingerprint of what the result depends on besides the parameters (skills/
    inputs.py); None: the result depends on the world, and is never cached."""

    def parse(self, parameters: dict[str, Any]) -> P:
        return parse_params(parameters, self.params)

    def validate(self, parameters: dict[str, Any], scopes: Scopes) -> P:
        params = self.parse(parameters)
        if self.check_scope is not None:
            self.check_scope(params, scopes)
        return params

    async def __call__(
        self,
        parameters: dict[str, Any],
        progress: Progress,
        scopes: Scopes,
        read_task: TaskReader = _no_tasks,
    ) -> dict[str, Any]:
        params = self.validate(parameters, scopes)
        return await self.run(params, progress, Context(scopes, parameters, read_task))


def parse_params(parameters: dict[str, Any], params: type[P]) -> P:
    """`parameters` as `params`; InvalidParameter names the first one that does not fit."""
    try:
        return msgspec.convert(parameters, params, str_keys=True)
    except msgspec.ValidationError as e:
        raise InvalidParameter(_parameter_of(str(e)), str(e)) from None


def _parameter_of(message: str) -> str:
    """'Expected `int`, got `str` - at `$.ports[0]`' -> 'ports[0]'; 'parameters' if none."""
    _, at, where = message.rpartition(" - at `$")
    if at:
        return where.rstrip("`").lstrip(".") or "parameters"
    if message.startswith("Object missing required field `"):
        return message.split("`")[1]
    if message.startswith("Object contains unknown field `"):
        return message.split("`")[1]
    return "parameters"
