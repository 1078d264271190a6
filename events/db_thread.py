"""One sqlite3 connection and the one thread that uses it.

`await db.run(fn, *args)` calls `fn(connection, *args)` on that thread. A whole
transaction (BEGIN, reads, folds, writes, COMMIT) is then one trip between the event
loop and the thread, where aiosqlite makes one per statement. On this kind of machine
each trip costs tens of microseconds of wake-ups and GIL hand-offs on both sides, and
waits up to a switch interval (5 ms) for the GIL when the loop is busy: a projection
transaction of five statements cost more than the work in it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")


class DbThread:
    def __init__(self, connection: sqlite3.Connection, executor: ThreadPoolExecutor) -> None:
        self.connection = connection
        self._executor = executor
        self.closed = False

    @classmethod
    async def open(cls, path: str | Path, pragmas: Iterable[str] = ()) -> DbThread:
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite")

        def connect() -> sqlite3.Connection:
            connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            for pragma in pragmas:
                connection.execute(pragma)
            return connection

        try:
            connection = await asyncio.get_running_loop().run_in_executor(executor, connect)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        return cls(connection, executor)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(connection, *args)` on the connection's thread."""
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, fn, self.connection, *args
        )

    async def execute(self, sql: str, params: Iterable[Any] = ()) -> None:
        await self.run(_execute, sql, tuple(params))

    async def fetchall(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        return await self.run(_fetchall, sql, tuple(params))

    async def executescript(self, script: str) -> None:
        await self.run(sqlite3.Connection.executescript, script)

    async def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        await self.run(sqlite3.Connection.close)
        self._executor.shutdown(wait=False)


def _execute(connection: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> None:
    connection.execute(sql, params)


def _fetchall(connection: sqlite3.Connection, sql: str, params: tuple[Any, ...]) -> list[Any]:
    return connection.execute(sql, params).fetchall()
