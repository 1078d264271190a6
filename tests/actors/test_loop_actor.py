"""Loop actors keep pykka's semantics while their mailboxes are served on the event loop."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pykka
import pytest

from actors.io import LoopBridge
from actors.loop_actor import LoopActor


class Log(LoopActor):
    def __init__(self, bridge: LoopBridge, seen: list[Any]) -> None:
        super().__init__(bridge)
        self.seen = seen

    def on_start(self) -> None:
        self.seen.append(("start", threading.get_ident()))

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise RuntimeError("boom")
        self.seen.append(message)
        return f"got {message}"

    def on_failure(self, *exc_info: Any) -> None:
        self.seen.append(("failed", str(exc_info[1])))

    def on_stop(self) -> None:
        self.seen.append("stopped")


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_messages_are_handled_on_the_loop_thread_in_order_after_on_start() -> None:
    seen: list[Any] = []
    ref = Log.start(LoopBridge(asyncio.get_running_loop()), seen)
    try:
        for n in range(100):
            ref.tell(n)
        await settle()
        assert seen[0] == ("start", threading.get_ident())
        assert seen[1:] == list(range(100))
    finally:
        ref.stop(block=False)
        await settle()


async def test_tells_and_asks_from_other_threads_reach_it() -> None:
    seen: list[Any] = []
    ref = Log.start(LoopBridge(asyncio.get_running_loop()), seen)
    try:

        def from_a_thread() -> Any:
            ref.tell("told")
            return ref.ask("asked", timeout=5)

        assert await asyncio.to_thread(from_a_thread) == "got asked"
        assert seen[1:] == ["told", "asked"]
    finally:
        ref.stop(block=False)
        await settle()


async def test_a_blocking_ask_from_the_loop_thread_raises_instead_of_waiting_for_itself() -> None:
    ref = Log.start(LoopBridge(asyncio.get_running_loop()), [])
    try:
        with pytest.raises(RuntimeError, match="would wait for itself"):
            ref.ask("asked", timeout=1)
        answer = ref.ask("asked again", block=False)
        await settle()
        assert answer.get() == "got asked again"  # answered already: nothing to wait for
    finally:
        ref.stop(block=False)
        await settle()


async def test_a_failing_tell_stops_the_actor_and_calls_on_failure_and_later_asks_fail() -> None:
    seen: list[Any] = []
    ref = Log.start(LoopBridge(asyncio.get_running_loop()), seen)
    ref.tell("boom")
    left = ref.ask("after", block=False)  # queued behind the crash
    await settle()
    assert ("failed", "boom") in seen
    assert "after" not in seen
    assert not ref.is_alive()
    with pytest.raises(pykka.ActorDeadError):
        await asyncio.to_thread(left.get, timeout=5)
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("too late")


async def test_stop_from_another_thread_runs_on_stop_and_answers() -> None:
    seen: list[Any] = []
    ref = Log.start(LoopBridge(asyncio.get_running_loop()), seen)
    ref.tell("before")
    await asyncio.to_thread(ref.stop, block=True, timeout=5)
    assert seen[1:] == ["before", "stopped"]
    assert not ref.is_alive()
