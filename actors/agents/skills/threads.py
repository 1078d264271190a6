"""CPU-heavy skill work in a worker thread, so the node's event loop keeps serving.

The work gets a `Reporter`: calling it sends progress to the loop (when the percentage
moved and REPORT_EVERY passed) and raises `Stopped` once the task was cancelled or timed
out, so the thread ends at its next report instead of running on unobserved; a cancelled
await does not stop a thread by itself.

Skills share one small pool of their own: the analyses hold the GIL, so more threads than
cores would only interleave them, and the loop's default executor stays free for the
store's reads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import math
import os
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from actors.agents.skills.base import Progress

T = TypeVar("T")

REPORT_EVERY = 0.25
"""Seconds between progress reports at least: each one is an event in the log, relayed and
projected, and a hundred of them cost an analysis of a hundred files a tenth of its time."""

_pool: concurrent.futures.ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


class Stopped(Exception):
    """The task no longer wants the result: raised at the worker's next report."""


class Reporter:
    """Thread-side handle: `report(percent, message)` and `check()`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, progress: Progress, every: float) -> None:
        self._loop = loop
        self._progress = progress
        self._every = every
        self._last = -1
        self._last_at = -math.inf
        self.stop = threading.Event()
        self.sent: list[concurrent.futures.Future[None]] = []

    def __call__(self, percent: int, message: str) -> None:
        self.check()
        percent = max(0, min(99, percent))  # 100 is the completion's, not a report's
        now = time.monotonic()
        if percent <= self._last or now - self._last_at < self._every:
            return
        self._last, self._last_at = percent, now
        self.sent.append(
            asyncio.run_coroutine_threadsafe(_send(self._progress, percent, message), self._loop)
        )

    def check(self) -> None:
        if self.stop.is_set():
            raise Stopped


async def _send(progress: Progress, percent: int, message: str) -> None:
    await progress(percent, message)


def _executor() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=os.cpu_count() or 2, thread_name_prefix="amas-skill"
            )
        return _pool


async def in_thread(
    work: Callable[[Reporter], T], progress: Progress, *, every: float | None = None
) -> T:
    """`work(reporter)` in a skill thread; its progress reaches `progress` (at most once
    per `every` seconds, default REPORT_EVERY) before the result is returned, so the
    task's last progress event precedes its completion."""
    loop = asyncio.get_running_loop()
    reporter = Reporter(loop, progress, REPORT_EVERY if every is None else every)
    context = contextvars.copy_context()
    try:
        result = await loop.run_in_executor(_executor(), context.run, work, reporter)
    finally:
        reporter.stop.set()
    if reporter.sent:
        await asyncio.gather(
            *(asyncio.wrap_future(sent) for sent in reporter.sent), return_exceptions=True
        )
    return result
