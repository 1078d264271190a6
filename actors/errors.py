"""Errors of the actors.

    ActorsError
     └── InvalidParameter   a task's parameters do not fit its skill (also ValueError)

Commands refused by an actor are not exceptions: they are a `Reply` with an ErrorCode
(events/commands). The bus's own failure is events.commands.BusUnavailable.
"""

from __future__ import annotations


class ActorsError(Exception):
    """Root of every error raised by `actors`."""


class InvalidParameter(ActorsError, ValueError):
    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"parameter {name!r}: {reason}")
        self.name = name
        self.reason = reason
