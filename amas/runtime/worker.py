"""CPU-heavy jobs of the node in a worker process of its own.

A thread is not enough for them. The node's event loop holds the GIL while it serves
requests, and a thread that gives the GIL up often (sqlite3 does at every row it reads)
must win it back each time: a convoy. A hash-chain walk of 30,000 events took 18.9 s in
a thread beside a busy loop and 0.35 s beside an idle one. A process has a GIL of its
own, and its CPU is no longer taken from the loop's.

The process is spawned at the first job (it imports the job's module, ~0.2 s) and kept
for the next ones; a worker that died is replaced at the next job, and the worker ends
with the node, however the node ends.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

from amas.runtime.lifetime import end_with_parent

P = ParamSpec("P")
R = TypeVar("R")


class Worker:
    """One spawned process that runs module-level functions (arguments and results
    pickled), one job at a time in the order given. A job whose process died under it
    runs once more on a new one, so jobs must be safe to repeat (reads and computations,
    as the hash-chain walk and the optimizer's training are)."""

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    @property
    def started(self) -> bool:
        """Whether the process has been spawned (at the first job)."""
        return self._pool is not None

    async def run(self, job: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        call = functools.partial(job, *args, **kwargs)
        try:
            return await self._submit(call)
        except BrokenProcessPool:  # the process died (killed, out of memory): once more
            return await self._submit(call)

    async def _submit(self, call: Callable[[], R]) -> R:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_begin,
                initargs=(os.getpid(),),
            )
        pool = self._pool
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, call)
        except BrokenProcessPool:
            if self._pool is pool:  # the next job gets a new process
                self._pool = None
            pool.shutdown(wait=False)
            raise

    async def close(self) -> None:
        """Stop the process; a job in hand is abandoned."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)


def _begin(node: int) -> None:
    """First thing in the worker: it ends with the node (a SIGKILLed node would leave it
    waiting forever: it holds both ends of its job pipe), and Ctrl-C in a terminal is
    for the node, which then stops it."""
    end_with_parent(signal.SIGTERM)
    if os.getppid() != node:  # the node died before that took hold
        os._exit(0)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
