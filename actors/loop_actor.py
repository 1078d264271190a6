"""pykka actors whose mailboxes are served by the node's event loop.

pykka's ThreadingActor gives every actor a thread. An actor here only decides (its I/O
already runs as coroutines on the loop), so a thread per actor bought nothing but
hand-offs: every message crossed to the actor's thread and every decision crossed
back, and on this kind of machine each crossing costs tens of microseconds of wake-ups
and GIL hand-offs, and up to a switch interval (5 ms) of waiting when the loop is busy.
A task's life took ~20 such crossings.

`LoopActor` is a pykka `Actor` (pykka's documented extension point: an inbox, a future
type and a way to run the actor loop). `tell` from any thread appends to the mailbox and
schedules a drain on the loop; the drain handles messages one at a time, in order, with
pykka's own semantics: `on_start` first, a failing `tell` stops the actor and calls
`on_failure`, asks get the answer or the exception, and what is left at the stop is
refused. The actor's code must not block: it runs on the loop.

A blocking `ask` from the loop's own thread would wait for itself; it raises instead.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections import deque
from contextvars import Context
from typing import Any

import pykka
from pykka._envelope import Envelope

from actors.io import LoopBridge

log = logging.getLogger(__name__)

_DRAIN = 64
"""Messages handled per turn of the loop before other callbacks get their turn."""


class _Mailbox:
    """The actor's inbox (pykka's ActorInbox protocol); `put` works from any thread."""

    def __init__(self) -> None:
        self.items: deque[Envelope[Any]] = deque()
        self.actor: LoopActor | None = None
        self._scheduled = False
        self._lock = threading.Lock()

    def put(self, envelope: Envelope[Any], /) -> None:
        self.items.append(envelope)
        self.wake()

    def get(self) -> Envelope[Any]:
        return self.items.popleft()

    def empty(self) -> bool:
        return not self.items

    def wake(self) -> None:
        with self._lock:
            if self._scheduled or self.actor is None:
                return
            self._scheduled = True
        self.actor._schedule()

    def drained(self) -> bool:
        """Mark the drain finished; True if messages arrived meanwhile (drain again)."""
        with self._lock:
            self._scheduled = bool(self.items)
            return self._scheduled


class _LoopFuture(pykka.ThreadingFuture[Any]):
    loop_thread: int | None = None

    def get(self, *, timeout: float | None = None) -> Any:
        if self._result is None and self.loop_thread == threading.get_ident():
            raise RuntimeError(
                "a blocking ask of a loop actor from the loop's own thread would wait for itself"
            )
        return super().get(timeout=timeout)


class LoopActor(pykka.Actor):
    def __init__(self, bridge: LoopBridge) -> None:
        super().__init__()
        self.bridge = bridge
        self._loop_started = False

    @staticmethod
    def _create_actor_inbox() -> _Mailbox:
        return _Mailbox()

    @staticmethod
    def _create_future() -> pykka.Future[Any]:
        future = _LoopFuture()
        future.loop_thread = LoopBridge.running_thread
        return future

    def _start_actor_loop(self) -> None:
        mailbox = self.actor_inbox
        assert isinstance(mailbox, _Mailbox)
        mailbox.actor = self
        with mailbox._lock:
            mailbox._scheduled = True
        self._schedule()

    def _schedule(self) -> None:
        # In a context of its own, not a copy of the sender's: a drain handles the messages
        # of many senders, and what a message is part of (its trace) travels in it.
        self.bridge.call(self._drain, context=Context())

    def _drain(self) -> None:
        mailbox = self.actor_inbox
        assert isinstance(mailbox, _Mailbox)
        if not self._loop_started:
            self._loop_started = True
            self._actor_loop_setup()
        for _ in range(_DRAIN):
            if self.actor_stopped.is_set() or not mailbox.items:
                break
            self._handle_envelope(mailbox.get())
        if self.actor_stopped.is_set():
            self._actor_loop_teardown()
            return
        if mailbox.drained():
            self.bridge.loop.call_soon(self._drain, context=Context())

    def _handle_envelope(self, envelope: Envelope[Any]) -> None:
        """One message, as pykka's `Actor._actor_loop_running` handles it."""
        try:
            response = self._handle_receive(envelope.message)
            if envelope.reply_to is not None:
                envelope.reply_to.set(response)
        except Exception:
            if envelope.reply_to is not None:
                log.info("Exception returned from %s to caller:", self, exc_info=sys.exc_info())
                envelope.reply_to.set_exception()
            else:
                self._handle_failure(*sys.exc_info())
                try:
                    self.on_failure(*sys.exc_info())
                except Exception:
                    self._handle_failure(*sys.exc_info())
        except BaseException:
            log.debug("%r in %s. Stopping all actors.", sys.exc_info()[1], self)
            self._stop()
            pykka.ActorRegistry.stop_all()
