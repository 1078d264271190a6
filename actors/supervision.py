"""Supervision for pykka actors, which have none of their own.

A supervised actor that raises while handling a message is stopped by pykka; its
`on_failure` tells the supervisor, which calls the child's crash hook (record the
error, release what it held) and starts a fresh instance after an exponential
backoff. Senders address children through a `Child` handle, which survives restarts
and holds messages sent while the child is down.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Any, Protocol

import pykka
from pykka.messages import _ActorStop

from actors.io import LoopBridge
from actors.loop_actor import LoopActor

log = logging.getLogger(__name__)

CrashHook = Callable[[str, BaseException, int], None]
"""Called with the child's name, the exception and how many times it has crashed."""

_MAX_HELD = 10_000


class SupervisedActor(LoopActor):
    def __init__(self, supervisor: Supervisor, name: str) -> None:
        super().__init__(supervisor.bridge)
        self.supervisor = supervisor
        self.name = name

    @property
    def me(self) -> Child:
        """This actor's stable address: use it, not actor_ref, from coroutines."""
        return self.supervisor.children[self.name]

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        # pykka drops the messages still in the inbox as the actor stops: keep them for
        # the next instance (this runs before that teardown).
        self.supervisor.child_failed(
            self.name, exception_value or RuntimeError("unknown"), _left_in_inbox(self.actor_inbox)
        )


class Child:
    """A stable address for a supervised actor across its restarts."""

    def __init__(
        self, name: str, factory: Callable[[], pykka.ActorRef[Any]], on_crash: CrashHook | None
    ) -> None:
        self.name = name
        self.factory = factory
        self.on_crash = on_crash
        self.ref: pykka.ActorRef[Any] | None = None
        self.crashes = 0
        self.restarting = False
        self._held: deque[Any] = deque(maxlen=_MAX_HELD)
        self._lock = threading.Lock()

    def tell(self, message: Any) -> None:
        with self._lock:
            ref = self.ref
            if ref is None or self.restarting:
                self._held.append(message)
                return
        try:
            ref.tell(message)
        except pykka.ActorDeadError:
            with self._lock:
                self._held.append(message)

    def alive(self) -> bool:
        return self.ref is not None and not self.restarting and self.ref.is_alive()

    def ask(self, message: Any, timeout: float = 5.0) -> Any:
        if self.ref is None:
            raise pykka.ActorDeadError(f"{self.name} is not running")
        return self.ref.ask(message, timeout=timeout)

    def _started(self, ref: pykka.ActorRef[Any]) -> None:
        with self._lock:
            self.ref = ref
            self.restarting = False
            held, self._held = list(self._held), deque(maxlen=_MAX_HELD)
        for message in held:
            ref.tell(message)


class _Inbox(Protocol):
    def empty(self) -> bool: ...
    def get(self) -> Any: ...
    def put(self, item: Any) -> None: ...


def _left_in_inbox(inbox: _Inbox) -> list[Any]:
    """Takes the tells still queued behind the message that crashed an actor, for the
    next instance. Asks and stops go back in the inbox, where pykka's teardown answers
    them as it would any actor's (ActorDeadError, and True for a stop)."""
    left: list[Any] = []
    answered_by_pykka: list[Any] = []
    while not inbox.empty():
        envelope = inbox.get()
        if envelope.reply_to is None and not isinstance(envelope.message, _ActorStop):
            left.append(envelope.message)
        else:
            answered_by_pykka.append(envelope)
    for envelope in answered_by_pykka:
        inbox.put(envelope)
    return left


class Supervisor:
    """Starts children, restarts them with backoff, stops them all."""

    def __init__(self, bridge: LoopBridge, backoff: float = 0.1, max_backoff: float = 5.0) -> None:
        self.bridge = bridge
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.children: dict[str, Child] = {}
        self._stopping = False

    def start(
        self,
        name: str,
        factory: Callable[[], pykka.ActorRef[Any]],
        on_crash: CrashHook | None = None,
    ) -> Child:
        child = Child(name, factory, on_crash)
        self.children[name] = child
        child._started(factory())
        return child

    def child_failed(self, name: str, error: BaseException, left: list[Any]) -> None:
        """Runs as pykka stops the failed actor; `left` are the messages that were
        queued behind the crash, delivered first to the next instance."""
        child = self.children.get(name)
        if child is None or self._stopping:
            return
        with child._lock:
            child.crashes += 1
            child.restarting = True
            crashes = child.crashes
            child._held.extendleft(reversed(left))
        log.error("actor %s crashed (%d times): %r; restarting", name, crashes, error)
        if child.on_crash is not None:
            try:
                child.on_crash(name, error, crashes)
            except Exception:
                log.exception("crash hook of %s failed", name)
        delay = self.restart_delay(crashes)
        self.bridge.call(self.bridge.loop.call_later, delay, self._restart, name)

    def restart_delay(self, crashes: int) -> float:
        """Seconds between a child's `crashes`-th crash and its restart."""
        return float(min(self.max_backoff, self.backoff * 2 ** (crashes - 1)))

    def _restart(self, name: str) -> None:
        child = self.children[name]
        if self._stopping:
            return
        try:
            child._started(child.factory())
        except Exception as e:
            self.child_failed(name, e, [])

    def stop_all(self, timeout: float = 5.0) -> None:
        self._stopping = True
        deadline = time.monotonic() + timeout
        for child in reversed(list(self.children.values())):
            ref = child.ref
            if ref is not None and ref.is_alive():
                with contextlib.suppress(pykka.ActorDeadError, pykka.Timeout):
                    ref.stop(block=True, timeout=max(0.1, deadline - time.monotonic()))
