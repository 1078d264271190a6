"""What agents can actually do: one coroutine per task type.

A skill runs on the node's event loop. It gets the task's parameters and a `progress`
callback (0-100), and returns the result dict; raising fails the task with the error.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from actors.agents.skills import echo as _echo

Progress = Callable[[int, str], Awaitable[None]]
Skill = Callable[[dict[str, Any], Progress], Awaitable[dict[str, Any]]]

SKILLS: dict[str, Skill] = {"echo": _echo.echo}
VALIDATORS: dict[str, Callable[[dict[str, Any]], None]] = {"echo": _echo.validate}
"""Checked when a task is submitted, so bad parameters are a 400, not a failed task."""

__all__ = ["SKILLS", "VALIDATORS", "Progress", "Skill"]
