"""Skill work in a worker thread: progress arrives in order before the result, and a
cancelled task's thread stops at its next report."""

from __future__ import annotations

import asyncio
import threading

import pytest

from actors.agents.skills.threads import Reporter, Stopped, in_thread

WAIT = 10.0


async def test_progress_reaches_the_loop_before_the_result_in_order():
    seen: list[int] = []

    async def progress(percent: int, message: str = "") -> None:
        await asyncio.sleep(0)
        seen.append(percent)

    def work(report: Reporter) -> str:
        for percent in (5, 5, 3, 40, 99, 120):
            report(percent, "working")
        return "done"

    assert await in_thread(work, progress, every=0) == "done"
    assert seen == [5, 40, 99]  # repeats and steps back dropped, 100 kept for the result


async def test_progress_is_reported_at_most_once_per_interval():
    seen: list[int] = []

    async def progress(percent: int, message: str = "") -> None:
        seen.append(percent)

    def work(report: Reporter) -> None:
        for percent in range(1, 100):
            report(percent, "working")

    await in_thread(work, progress, every=3600)

    assert seen == [1]


async def test_a_cancelled_await_stops_the_thread_at_its_next_report():
    started, stopped = threading.Event(), threading.Event()
    go_on = threading.Event()

    async def progress(percent: int, message: str = "") -> None:
        pass

    def work(report: Reporter) -> None:
        started.set()
        go_on.wait(WAIT)
        try:
            report(50, "after the cancel")
        except Stopped:
            stopped.set()
            raise

    running = asyncio.ensure_future(in_thread(work, progress))
    assert await asyncio.to_thread(started.wait, WAIT)
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    go_on.set()

    assert await asyncio.to_thread(stopped.wait, WAIT)


async def test_an_error_in_the_work_is_raised_to_the_skill():
    async def progress(percent: int, message: str = "") -> None:
        pass

    def work(report: Reporter) -> None:
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        await in_thread(work, progress)
