"""Read-your-writes: wait until a projection has applied a position."""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import Callable

from events.errors import ProjectionTimeoutError


class PositionWaiters:
    """Waits per projection (None: all of them), each a heap by position, so a batch
    resolves the waits it reached and only those: with many requests waiting, waking
    every one on every batch cost more than the batches."""

    def __init__(self, position: Callable[[str | None], int]) -> None:
        self._position = position
        self._heaps: dict[str | None, list[tuple[int, int, asyncio.Future[None]]]] = {}
        self._seq = itertools.count()

    async def wait_for(self, position: int, timeout: float, name: str | None) -> None:
        if self._position(name) >= position:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._heaps.setdefault(name, []), (position, next(self._seq), waiter))
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            raise ProjectionTimeoutError(
                name or "all", position, self._position(name), timeout
            ) from None

    def wake(self) -> None:
        """Resolve the waits whose position has been reached."""
        for name, heap in self._heaps.items():
            if not heap:
                continue
            reached = self._position(name)
            while heap and heap[0][0] <= reached:
                waiter = heapq.heappop(heap)[2]
                if not waiter.done():
                    waiter.set_result(None)
