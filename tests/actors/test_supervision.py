"""The supervisor restarts a crashed actor and loses none of the messages sent to it."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

from actors.io import LoopBridge
from actors.supervision import SupervisedActor, Supervisor


class Recorder(SupervisedActor):
    def __init__(
        self, supervisor: Supervisor, seen: queue.Queue[Any], crashing: threading.Event
    ) -> None:
        super().__init__(supervisor, "recorder")
        self.seen = seen
        self.crashing = crashing

    def on_receive(self, message: Any) -> Any:
        if message == "crash":
            self.crashing.set()
            raise RuntimeError("boom")
        self.seen.put(message)


async def test_messages_queued_behind_the_crashing_one_reach_the_restarted_actor() -> None:
    supervisor = Supervisor(LoopBridge(asyncio.get_running_loop()), backoff=0.01)
    seen: queue.Queue[Any] = queue.Queue()
    crashing = threading.Event()
    crashes: list[str] = []
    child = supervisor.start(
        "recorder",
        lambda: Recorder.start(supervisor, seen, crashing),
        on_crash=lambda name, error, count: crashes.append(f"{name}:{error}:{count}"),
    )
    try:
        # Told together: the third waits in this instance's inbox when the second crashes it.
        child.tell("before")
        child.tell("crash")
        child.tell("queued behind the crash")
        received = [await asyncio.to_thread(seen.get, timeout=5) for _ in range(2)]
        child.tell("after the restart")
        received.append(await asyncio.to_thread(seen.get, timeout=5))
    finally:
        await asyncio.to_thread(supervisor.stop_all)
    assert received == ["before", "queued behind the crash", "after the restart"]
    assert crashes == ["recorder:boom:1"]
    assert child.crashes == 1
