"""A task's events from the node's NATS, when the `nats` package is installed.

The node's relay publishes every committed event on its type (`task.created` ...) into
the JetStream stream AMAS_EVENTS. An ordered consumer from the task's creation time on
gets its whole life, in order, with nothing missed between a look at the task and the
subscription; envelopes of other tasks are skipped by the reader. The sync client runs
the same consumer on an event loop in a thread of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, TypeVar

from amas.sdk._call import TIMED_OUT
from amas.sdk._sources import NatsSpec
from amas.sdk.errors import EventStreamUnavailable

T = TypeVar("T")


class NatsSource:
    def __init__(self, subscription: Any) -> None:
        self._subscription = subscription

    async def next(self, timeout: float) -> Any:
        """The next envelope as a dict, or TIMED_OUT."""
        from nats.errors import TimeoutError as NatsTimeout

        try:
            msg = await self._subscription.next_msg(timeout=timeout)
        except NatsTimeout:
            return TIMED_OUT
        envelope: dict[str, Any] = json.loads(msg.data)
        return envelope


async def _quiet(*_: Any) -> None:
    """NATS' callbacks: the reader learns of trouble from timeouts, not from logs."""


@contextlib.asynccontextmanager
async def follow(spec: NatsSpec) -> AsyncIterator[NatsSource]:
    try:
        import nats
        from nats.js.api import ConsumerConfig, DeliverPolicy
    except ImportError:
        raise EventStreamUnavailable("the nats package is not installed") from None
    try:
        connection = await asyncio.wait_for(
            nats.connect(
                spec.url,
                connect_timeout=spec.connect_timeout,
                allow_reconnect=False,
                error_cb=_quiet,
                disconnected_cb=_quiet,
            ),
            spec.connect_timeout,
        )
    except Exception as e:  # nats-py raises many kinds here; each means "not reachable"
        raise EventStreamUnavailable(f"NATS at {spec.url} is not reachable: {e!r}") from e
    try:
        try:
            subscription = await connection.jetstream().subscribe(
                spec.subject,
                stream=spec.stream,
                ordered_consumer=True,
                config=ConsumerConfig(
                    deliver_policy=DeliverPolicy.BY_START_TIME, opt_start_time=spec.start
                ),
            )
        except Exception as e:
            raise EventStreamUnavailable(f"JetStream stream {spec.stream}: {e!r}") from e
        try:
            yield NatsSource(subscription)
        finally:
            with contextlib.suppress(Exception):  # its heartbeat and flow control tasks
                await subscription.unsubscribe()
    finally:
        await connection.close()


async def _settle() -> None:
    """Let the loop's other tasks (nats-py's, being cancelled) finish before it stops."""
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in others:
        task.cancel()
    await asyncio.gather(*others, return_exceptions=True)


class ThreadedSource:
    """An async source driven from blocking code: its event loop runs in a thread."""

    def __init__(self, opened: contextlib.AbstractAsyncContextManager[NatsSource]) -> None:
        self._opened = opened
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        try:
            self._source = self._run(lambda: opened.__aenter__())
        except BaseException:
            self._stop()
            raise

    def _run(self, make: Callable[[], Awaitable[T]]) -> T:
        async def run() -> T:
            return await make()

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result()

    def next(self, timeout: float) -> Any:
        return self._run(lambda: self._source.next(timeout))

    def close(self) -> None:
        try:
            self._run(lambda: self._opened.__aexit__(None, None, None))
        finally:
            self._stop()

    def _stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run(_settle)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()


@contextlib.contextmanager
def follow_in_thread(spec: NatsSpec) -> Iterator[ThreadedSource]:
    source = ThreadedSource(follow(spec))
    try:
        yield source
    finally:
        source.close()
