"""`echo`: returns its parameters, reporting progress on the way.

Parameters it understands besides whatever it echoes: `steps` (progress reports,
default 1, at most 100) and `delay` (seconds spread over the steps, default 0, at most
3600) so that cancellation and timeouts can be seen on a real task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from actors.errors import InvalidParameter

_MAX_STEPS = 100
_MAX_DELAY = 3600.0


def _number(parameters: dict[str, Any], name: str, default: float, high: float) -> float:
    value = parameters.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameter(name, "must be a number")
    if not 0 <= value <= high:
        raise InvalidParameter(name, f"must be between 0 and {high}")
    return float(value)


def validate(parameters: dict[str, Any]) -> None:
    _number(parameters, "steps", 1, _MAX_STEPS)
    _number(parameters, "delay", 0, _MAX_DELAY)


async def echo(
    parameters: dict[str, Any], progress: Callable[[int, str], Awaitable[None]]
) -> dict[str, Any]:
    steps = int(_number(parameters, "steps", 1, _MAX_STEPS))
    delay = _number(parameters, "delay", 0, _MAX_DELAY)
    for step in range(1, steps + 1):
        if delay:
            await asyncio.sleep(delay / steps)
        await progress(step * 100 // (steps + 1), f"step {step} of {steps}")
    return {"echo": parameters}
