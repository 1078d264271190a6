"""pykka's semantics, held for our LoopActor exactly as for pykka's own ThreadingActor.

actors/loop_actor.py and actors/supervision.py build on pykka's private API (PRIVATE
below), so pyproject.toml pins pykka below its next major. Each test of an actor's life
runs against both kinds of actor with the same assertions: a pykka release that changes
what ThreadingActor does, or that breaks what LoopActor borrows from pykka, fails here.

Loop actors are served by the test's event loop, so no test blocks it: every wait for an
answer runs in a thread (`answer`).
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import queue
import threading
from collections.abc import AsyncIterator, Callable
from types import TracebackType
from typing import Any

import pykka
import pytest

from actors.io import LoopBridge
from actors.loop_actor import LoopActor
from actors.supervision import SupervisedActor, Supervisor

WAIT = 5.0
"""Upper bound for any wait; never a measure of speed."""

PIN = "private API, hence the pin pykka>=4.1,<5 in pyproject.toml: adapt actors/ to move it"


class Boom(Exception):
    """What a probe raises when it is sent "boom"."""


class Life:
    """What a probe saw, shared with the test (the probe runs on another thread or turn)."""

    def __init__(self, fail_start: bool = False) -> None:
        self.fail_start = fail_start
        self.seen: list[Any] = []
        self.failure: tuple[Any, Any, Any] | None = None
        self.failed = threading.Event()


class Probe(pykka.Actor):
    """Records its life; answers ("got", message); "boom" raises."""

    label = "probe"

    def __init__(self, life: Life, *base: Any) -> None:
        super().__init__(*base)
        self.life = life
        self.total = 0

    def on_start(self) -> None:
        self.life.seen.append("start")
        if self.life.fail_start:
            raise Boom("on_start")

    def on_receive(self, message: Any) -> Any:
        if message == "boom":
            raise Boom("boom")
        self.life.seen.append(message)
        return ("got", message)

    def on_failure(
        self,
        exception_type: type[BaseException] | None,
        exception_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.life.failure = (exception_type, exception_value, traceback)
        self.life.seen.append("failed")
        self.life.failed.set()

    def on_stop(self) -> None:
        self.life.seen.append("stopped")

    def add(self, n: int) -> int:
        self.total += n
        return self.total


class ThreadingProbe(Probe, pykka.ThreadingActor):
    use_daemon_thread = True  # a test that fails half-way leaves no thread holding pytest


class LoopProbe(Probe, LoopActor):
    pass


Start = Callable[[Life], "pykka.ActorRef[Any]"]


async def answer(future: pykka.Future[Any]) -> Any:
    """The future's value (or its exception), waited for off the loop serving loop actors."""
    return await asyncio.to_thread(future.get, timeout=WAIT)


@pytest.fixture(params=["ThreadingActor", "LoopActor"])
async def start(request: pytest.FixtureRequest) -> AsyncIterator[Start]:
    """`start(life)`: a Probe of the kind under test; whatever is still alive is stopped."""
    started: list[pykka.ActorRef[Any]] = []
    bridge = LoopBridge(asyncio.get_running_loop()) if request.param == "LoopActor" else None

    def starter(life: Life) -> pykka.ActorRef[Any]:
        ref: pykka.ActorRef[Any]
        ref = ThreadingProbe.start(life) if bridge is None else LoopProbe.start(life, bridge)
        started.append(ref)
        return ref

    yield starter
    for ref in started:
        if ref.is_alive():
            await answer(ref.stop(block=False))


# The life of an actor, as pykka documents it -------------------------------------------


async def test_on_start_runs_before_the_first_message(start: Start) -> None:
    life = Life()
    ref = start(life)
    ref.tell("first")
    assert await answer(ref.ask("second", block=False)) == ("got", "second")
    assert life.seen == ["start", "first", "second"]


async def test_tells_are_handled_in_the_order_they_were_told(start: Start) -> None:
    life = Life()
    ref = start(life)
    for n in range(100):
        ref.tell(n)
    await answer(ref.ask("last", block=False))
    assert life.seen == ["start", *range(100), "last"]


async def test_ask_returns_the_answer(start: Start) -> None:
    ref = start(Life())
    future = ref.ask("question", block=False)
    assert isinstance(future, pykka.Future)
    assert await answer(future) == ("got", "question")
    assert await asyncio.to_thread(ref.ask, "blocking", timeout=WAIT) == ("got", "blocking")


async def test_an_ask_that_raises_reraises_in_the_caller_and_the_actor_lives_on(
    start: Start,
) -> None:
    life = Life()
    ref = start(life)
    with pytest.raises(Boom, match="boom"):
        await answer(ref.ask("boom", block=False))
    with pytest.raises(Boom, match="boom"):
        await asyncio.to_thread(ref.ask, "boom", timeout=WAIT)
    assert ref.is_alive()
    assert await answer(ref.ask("after", block=False)) == ("got", "after")
    assert life.failure is None
    assert life.seen == ["start", "after"]


async def test_a_tell_that_raises_calls_on_failure_and_stops_the_actor(start: Start) -> None:
    life = Life()
    ref = start(life)
    ref.tell("boom")
    behind = ref.ask("asked behind the crash", block=False)

    assert await asyncio.to_thread(life.failed.wait, WAIT), "on_failure was not called"
    assert life.failure is not None
    exception_type, exception_value, traceback = life.failure
    assert exception_type is Boom
    assert isinstance(exception_value, Boom) and str(exception_value) == "boom"
    assert traceback is not None
    with pytest.raises(pykka.ActorDeadError):
        await answer(behind)  # refused as the actor stopped, not handled
    assert not ref.is_alive()
    assert pykka.ActorRegistry.get_by_urn(ref.actor_urn) is None
    assert life.seen == ["start", "failed"]  # nothing after the crash; on_stop is not called
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("too late")
    with pytest.raises(pykka.ActorDeadError):
        await answer(ref.ask("too late", block=False))


async def test_an_on_start_that_raises_stops_the_actor_before_any_message(start: Start) -> None:
    life = Life(fail_start=True)
    ref = start(life)
    with pytest.raises(pykka.ActorDeadError):
        await answer(ref.ask("asked", block=False))
    assert not ref.is_alive()
    assert life.seen == ["start"]  # pykka logs it: neither on_failure nor on_stop


async def test_stop_handles_what_was_told_before_runs_on_stop_and_then_refuses(
    start: Start,
) -> None:
    life = Life()
    ref = start(life)
    ref.tell("before")
    stopping = ref.stop(block=False)
    after = ref.ask("asked after the stop", block=False)

    assert await answer(stopping) is True
    assert life.seen == ["start", "before", "stopped"]
    assert life.failure is None
    assert not ref.is_alive()
    assert pykka.ActorRegistry.get_by_urn(ref.actor_urn) is None
    with pytest.raises(pykka.ActorDeadError):
        await answer(after)
    with pytest.raises(pykka.ActorDeadError):
        ref.tell("too late")
    with pytest.raises(pykka.ActorDeadError):
        await answer(ref.ask("too late", block=False))
    with pytest.raises(pykka.ActorDeadError):
        await asyncio.to_thread(ref.ask, "too late", timeout=WAIT)
    assert await answer(ref.stop(block=False)) is False  # already dead


async def test_an_actor_is_alive_and_registered_from_start_to_stop(start: Start) -> None:
    ref = start(Life())
    assert ref.is_alive()
    assert pykka.ActorRegistry.get_by_urn(ref.actor_urn) == ref
    await answer(ref.ask("anything", block=False))
    assert ref.is_alive()
    await answer(ref.stop(block=False))
    assert not ref.is_alive()


async def test_a_proxy_calls_methods_and_reads_attributes(start: Start) -> None:
    proxy = start(Life()).proxy()
    assert await answer(proxy.add(2)) == 2
    assert await answer(proxy.add(3)) == 5
    assert await answer(proxy.total) == 5
    assert await answer(proxy.label) == "probe"


# The private pykka API the code uses ---------------------------------------------------

# Envelope and _ActorStop are imported when actors/ is: without them the suite stops at
# import with an ImportError naming them; the others are only looked up when used.
PRIVATE = [
    ("pykka._envelope", "Envelope", "actors/loop_actor.py: what the mailbox holds"),
    ("pykka.messages", "_ActorStop", "actors/supervision.py: _left_in_inbox skips stops"),
    ("pykka", "Actor._create_actor_inbox", "LoopActor overrides it"),
    ("pykka", "Actor._create_future", "LoopActor overrides it"),
    ("pykka", "Actor._start_actor_loop", "LoopActor overrides it"),
    ("pykka", "Actor._actor_loop_setup", "LoopActor._drain calls it"),
    ("pykka", "Actor._actor_loop_running", "LoopActor._handle_envelope copies its body"),
    ("pykka", "Actor._actor_loop_teardown", "LoopActor._drain calls it"),
    ("pykka", "Actor._handle_receive", "LoopActor._handle_envelope calls it"),
    ("pykka", "Actor._handle_failure", "LoopActor._handle_envelope calls it"),
    ("pykka", "Actor._stop", "LoopActor._handle_envelope calls it"),
]


@pytest.mark.parametrize(("module", "name", "user"), PRIVATE, ids=[n for _, n, _ in PRIVATE])
def test_the_private_pykka_names_the_code_uses_still_exist(
    module: str, name: str, user: str
) -> None:
    missing = f"pykka {importlib.metadata.version('pykka')} has no {module}.{name} ({user}); {PIN}"
    try:
        found: Any = importlib.import_module(module)
    except ImportError:
        pytest.fail(missing)
    for part in name.split("."):
        assert hasattr(found, part), missing
        found = getattr(found, part)


def test_envelopes_and_futures_have_the_fields_the_code_reads() -> None:
    from pykka._envelope import Envelope
    from pykka.messages import _ActorStop

    class Inert(pykka.Actor):
        """pykka's ActorRef fills its inbox; nothing ever empties it."""

        @staticmethod
        def _create_actor_inbox() -> queue.Queue[Envelope[Any]]:
            return queue.Queue()

        @staticmethod
        def _create_future() -> pykka.Future[Any]:
            return pykka.ThreadingFuture()

        def _start_actor_loop(self) -> None:
            pass

    actor = Inert()
    actor.actor_ref.tell("told")
    asked = actor.actor_ref.ask("asked", block=False)
    actor.actor_ref.stop(block=False)
    told_envelope, asked_envelope, stop_envelope = (actor.actor_inbox.get() for _ in range(3))
    where = f"(actors/loop_actor.py, actors/supervision.py read them); {PIN}"
    assert isinstance(told_envelope, Envelope), f"the inbox holds no Envelope {where}"
    assert (told_envelope.message, told_envelope.reply_to) == ("told", None), where
    assert asked_envelope.message == "asked" and asked_envelope.reply_to is asked, where
    assert isinstance(stop_envelope.message, _ActorStop), f"stop is no _ActorStop {where}"
    assert stop_envelope.reply_to is not None, where

    future: pykka.ThreadingFuture[int] = pykka.ThreadingFuture()
    unset = "ThreadingFuture._result is None until answered (actors/loop_actor.py _LoopFuture)"
    assert future._result is None, f"{unset}; {PIN}"
    future.set(1)
    assert future._result is not None, f"{unset}; {PIN}"


# Supervision: what it does with pykka's inbox when a child crashes ---------------------
# (tests/actors/test_supervision.py covers the restart and the tells queued behind a crash)


class Crasher(SupervisedActor):
    def __init__(self, supervisor: Supervisor, starts: queue.Queue[str]) -> None:
        super().__init__(supervisor, "crasher")
        self.starts = starts

    def on_start(self) -> None:
        self.starts.put(self.actor_urn)

    def on_receive(self, message: Any) -> Any:
        if message == "stop, then crash":
            self.stop()  # pykka's Actor.stop(): an _ActorStop told to itself, behind this one
        if message in ("crash", "stop, then crash"):
            raise Boom("crash")
        return ("got", message)


async def test_a_stop_queued_behind_a_crash_does_not_stop_the_restarted_child() -> None:
    supervisor = Supervisor(LoopBridge(asyncio.get_running_loop()), backoff=0.01)
    starts: queue.Queue[str] = queue.Queue()
    child = supervisor.start("crasher", lambda: Crasher.start(supervisor, starts))
    try:
        first = child.ref
        assert first is not None
        first.tell("stop, then crash")
        urns = [await asyncio.to_thread(starts.get, timeout=WAIT) for _ in range(2)]
        assert urns[0] != urns[1]
        assert await asyncio.to_thread(child.ask, "ping", WAIT) == ("got", "ping")
        assert child.alive()
        assert child.crashes == 1
    finally:
        await asyncio.to_thread(supervisor.stop_all)


async def test_asks_and_stops_queued_behind_a_crash_are_answered_as_pykka_answers_them() -> None:
    supervisor = Supervisor(LoopBridge(asyncio.get_running_loop()), backoff=0.01)
    starts: queue.Queue[str] = queue.Queue()
    child = supervisor.start("crasher", lambda: Crasher.start(supervisor, starts))
    try:
        first = child.ref
        assert first is not None
        first.tell("crash")
        asked = first.ask("asked behind the crash", block=False)
        stopping = first.stop(block=False)
        with pytest.raises(pykka.ActorDeadError):
            await asyncio.to_thread(asked.get, timeout=0.3)
        assert await asyncio.to_thread(stopping.get, timeout=0.3) is True
    finally:
        await asyncio.to_thread(supervisor.stop_all)
