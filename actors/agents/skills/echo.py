"""`echo`: returns its parameters, reporting progress on the way.

Parameters it understands besides whatever it echoes: `steps` (progress reports,
default 1, at most 100) and `delay` (seconds spread over the steps, default 0, at most
3600) so that cancellation and timeouts can be seen on a real task.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import msgspec

from actors.agents.skills import inputs
from actors.agents.skills.base import Context, Progress, Skill


class EchoParams(msgspec.Struct, frozen=True, kw_only=True):
    steps: Annotated[int, msgspec.Meta(ge=0, le=100)] = 1
    delay: Annotated[float, msgspec.Meta(ge=0, le=3600)] = 0.0


async def echo(params: EchoParams, progress: Progress, context: Context) -> dict[str, Any]:
    steps = params.steps
    for step in range(1, steps + 1):
        if params.delay:
            await asyncio.sleep(params.delay / steps)
        await progress(step * 100 // (steps + 1), f"step {step} of {steps}")
    return {"echo": context.parameters}


SKILL = Skill("echo", EchoParams, echo, inputs=inputs.none)
