"""What every command area shares: the reply, the refusal, the bus a command travels on.

Commands ask; the owning actor decides and answers with a `Reply`. A refused command
gets `ok=False` with an `ErrorCode` that the HTTP edge maps to a status in one place.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec

from events.errors import EventsError
from events.vocabulary import ErrorCode


class Reply(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ok: bool
    position: int = 0
    """Position of the last event the command wrote: wait for it to read your write."""
    data: dict[str, Any] = {}
    code: ErrorCode | None = None
    message: str | None = None
    details: dict[str, Any] = {}


def rejected(code: ErrorCode, message: str, **details: Any) -> Reply:
    return Reply(ok=False, code=code, message=message, details=details)


ReplyFn = Callable[[Reply], None]
"""How an actor answers a command: a plain call on the loop's thread."""


class BusUnavailable(EventsError, ConnectionError):
    """The bus could not carry a command in time (no server, no responder, timeout)."""

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(f"{subject}: {reason}")
        self.subject = subject
        self.reason = reason


class CommandBus(Protocol):
    """What actors and the edge need of the bus; the NATS one lives in amas/runtime."""

    async def request(self, subject: str, command: msgspec.Struct, timeout: float = 5.0) -> Reply:
        """Send a command and await its reply; raises BusUnavailable."""
        ...

    async def publish(
        self, subject: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> None: ...

    def send_soon(
        self, subject: str, payload: bytes, headers: dict[str, str] | None = None
    ) -> None:
        """Publish from a plain callback on the loop; best effort."""
        ...


Request = Callable[[str, msgspec.Struct], Awaitable[Reply]]
"""`CommandBus.request` as a callable, for code that needs nothing else of the bus."""
