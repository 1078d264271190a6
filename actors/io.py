"""The bridge between actors, other threads and the node's event loop.

Actors decide; the loop does I/O. An actor hands the loop a coroutine (an append,
a publish, an HTTP call) and carries on with its mailbox; the coroutine reports back
to the actor with a message when it matters. Nothing here blocks an actor. Loop actors
(actors/loop_actor.py) are served on the loop's thread, where handing over is a plain
`call_soon`; from any other thread (a database's, a test's) it is thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from contextvars import Context
from typing import Any

import msgspec

from events import tracing
from events.commands import Reply

log = logging.getLogger(__name__)

ReplyFn = Callable[[Reply], None]


class Incoming(msgspec.Struct, frozen=True):
    """A command from NATS, how to answer it (a loop-side callable), and the trace it came
    in (by default the ambient one where it is made: the bus hands commands over in it)."""

    command: Any
    reply: ReplyFn | None = None
    trace: str | None = msgspec.field(default_factory=tracing.current)


class LoopBridge:
    running_thread: int | None = None
    """The thread of the last bridge made: where loop actors must not block on an ask."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        """Make it on the loop's own thread."""
        self.loop = loop
        self.thread = LoopBridge.running_thread = threading.get_ident()
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        """Run `coroutine` on the loop; safe from any thread."""
        if threading.get_ident() == self.thread:
            self._start(coroutine)
        else:
            self.loop.call_soon_threadsafe(self._start, coroutine)

    def call(self, fn: Callable[..., Any], *args: Any, context: Context | None = None) -> None:
        """Call `fn(*args)` on the loop soon (never at once: callers keep their order);
        safe from any thread. In `context`, else in a copy of the caller's."""
        if threading.get_ident() == self.thread:
            self.loop.call_soon(fn, *args, context=context)
        else:
            self.loop.call_soon_threadsafe(fn, *args, context=context)

    def _start(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = self.loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background work failed", exc_info=task.exception())

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait (bounded) for the coroutines actors started; cancel what is left."""
        if not self._tasks:
            return
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
