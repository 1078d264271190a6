"""One AI provider as an actor: its configuration, client, breaker, limits and record.

A `Call` is admitted (breaker, cool-down, rpm/tpm) or refused at once; an admitted
call's HTTP runs as a coroutine on the loop and comes back as `Attempted`, which the
actor books: breaker, limits, latency, the cool-down a failure earns (decide.verdict),
one `provider.called` event, and a `provider.state` event when its state moved. Then it
answers the caller's future. The router reads each provider's `View` (republished on
every change) to order them, and never touches this state itself.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec

from actors.io import Incoming, LoopBridge, ReplyFn
from actors.providers import decide
from actors.providers.breaker import Breaker, BreakerPolicy
from actors.providers.catalog import ProviderConfig
from actors.providers.checks import run_checks
from actors.providers.clients import make_client
from actors.providers.clients.base import ChatRequest, ChatResult, Delta, Done, Message
from actors.providers.errors import FailureKind, ProviderError
from actors.providers.limits import Limits
from actors.supervision import SupervisedActor, Supervisor
from events import tracing
from events.clock import iso
from events.commands import ConfigureProvider, Reply, TestProvider
from events.envelope import Meta
from events.store.base import ANY_VERSION, EventStore
from events.types import ProviderCalled, ProviderConfigured, ProviderStateChanged
from events.vocabulary import ErrorCode

log = logging.getLogger(__name__)

_LATENCY_WEIGHT = 0.2
"""Weight of the newest call in the latency average (an exponential moving average)."""
_PROBE_EVERY = 30.0
"""Seconds between checks that a local server (ollama) answers."""

OnDelta = Callable[[str], Awaitable[None]]


@dataclass
class Call:
    request: ChatRequest
    call_id: str
    attempt: int
    answer: asyncio.Future[ChatResult | ProviderError | str]
    """The result, the failure, or (a str) why the call was not admitted."""
    on_delta: OnDelta | None = None
    meta: Meta = field(default_factory=Meta)
    trace: str | None = None
    """The caller's traceparent: the vendor call is a span under it."""


@dataclass
class Attempted:
    call: Call
    outcome: ChatResult | ProviderError
    latency_ms: float


@dataclass
class Probed:
    answers: bool


class _Probe:
    """Time to check the local server again."""


@dataclass
class Recorded:
    """What the router needs of a provider between calls (republished on each change)."""

    view: decide.View
    breaker: str
    config: ProviderConfig
    latency_ms: float | None
    limits: dict[str, Any]


class ProviderActor(SupervisedActor):
    def __init__(
        self,
        supervisor: Supervisor,
        name: str,
        bridge: LoopBridge,
        config: ProviderConfig,
        http: httpx.AsyncClient,
        store: EventStore,
        board: dict[str, Recorded],
        breaker: BreakerPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(supervisor, name)
        self.bridge = bridge
        self.config = config
        self.http = http
        self.store = store
        self.board = board
        self.clock = clock
        self.breaker = Breaker(breaker or BreakerPolicy())
        self.limits = Limits(rpm=config.rpm, tpm=config.tpm)
        self.latency_ms: float | None = None
        self.calls = self.successes = 0
        self.cooling_until = 0.0
        self.cooling_status = ""
        self.answers = not config.spec.local  # a local server counts once it answers
        self.next_probe: asyncio.TimerHandle | None = None
        self.client = self._client()
        self.shown = ("", "")

    def _client(self) -> Any:
        key = self.config.api_key.reveal() if self.config.api_key else None
        return make_client(self.config.spec.style, self.http, self.config.base_url, key)

    def on_start(self) -> None:
        self.shown = (self.status(self.clock()), self.breaker.state)  # moves from here are events
        self._publish()
        if self.config.spec.local:
            self.me.tell(_Probe())

    def on_stop(self) -> None:
        if self.next_probe is not None:
            self.next_probe.cancel()

    def on_receive(self, message: Any) -> Any:
        match message:
            case Call() as call:
                self._admit(call)
            case Attempted() as attempted:
                self._book(attempted)
            case Incoming(command=ConfigureProvider() as command, reply=reply):
                self._configure(command, reply)
            case Incoming(command=TestProvider(), reply=reply):
                self.bridge.spawn(self._test(reply))
            case _Probe():
                self.bridge.spawn(self._probe())
            case Probed(answers=answers):
                self.answers = answers
                self._publish()
                # A timer, not a sleeping coroutine: nothing waits for it at a stop.
                self.next_probe = asyncio.get_running_loop().call_later(
                    _PROBE_EVERY, self.me.tell, _Probe()
                )
            case _:
                raise TypeError(f"provider got an unknown message: {message!r}")

    # -- calls -------------------------------------------------------------------------

    def _admit(self, call: Call) -> None:
        now = self.clock()
        refusal = self._refusal(now)
        if refusal:
            call.answer.set_result(refusal)
            return
        self.breaker.started()
        self.limits.record(now, _estimate_tokens(call.request))
        self.bridge.spawn(self._run(call))

    def _refusal(self, now: float) -> str:
        if not self.configured:
            return "unconfigured"
        if not self.config.enabled:
            return "disabled"
        if self.cooling_until > now:
            return self.cooling_status
        if not self.breaker.allows(now):
            return "open"
        return self.limits.used_up(now)

    async def _run(self, call: Call) -> None:
        started = time.perf_counter()
        outcome: ChatResult | ProviderError
        try:
            with tracing.span(
                f"chat {self.config.id}",
                parent=call.trace,
                kind=tracing.CLIENT,
                attributes={"gen_ai.request.model": call.request.model},
            ):
                if call.on_delta is None:
                    outcome = await self.client.complete(call.request, timeout=self.config.timeout)
                else:
                    outcome = await self._stream(call, call.on_delta)
        except ProviderError as e:
            outcome = e
        except asyncio.CancelledError:
            self.breaker.cancelled()
            raise
        self.me.tell(Attempted(call, outcome, (time.perf_counter() - started) * 1000))

    async def _stream(self, call: Call, on_delta: OnDelta) -> ChatResult:
        async for piece in self.client.stream(call.request, timeout=self.config.timeout):
            match piece:
                case Delta(text=text):
                    await on_delta(text)
                case Done(result=result):
                    return result
        raise ProviderError(FailureKind.MALFORMED, f"{self.config.id}: the stream ended early")

    def _book(self, attempted: Attempted) -> None:
        call, outcome = attempted.call, attempted.outcome
        now = self.clock()
        self.calls += 1
        latency = attempted.latency_ms
        self.latency_ms = (
            latency
            if self.latency_ms is None
            else (1 - _LATENCY_WEIGHT) * self.latency_ms + _LATENCY_WEIGHT * latency
        )
        prompt = completion = 0
        cost: float | None = None
        if isinstance(outcome, ChatResult):
            self.successes += 1
            self.breaker.succeeded(now)
            self.limits.learn(now, outcome.limits)
            prompt, completion = outcome.usage.prompt_tokens, outcome.usage.completion_tokens
            cost = self.config.cost(prompt, completion)
            if self.cooling_until <= now:
                self.cooling_status = ""
            error, kind, status = None, "ok", None
        else:
            verdict = decide.verdict(outcome.kind, 0, 0, outcome.retry_after, _reset_in(outcome))
            if verdict.counts_for_breaker:
                self.breaker.failed(now)
            else:
                self.breaker.cancelled()
            if verdict.cool_for:
                until = now + verdict.cool_for
                if until > self.cooling_until:
                    self.cooling_until, self.cooling_status = until, verdict.status
            if outcome.limits is not None:
                self.limits.learn(now, outcome.limits)
            error, kind, status = outcome.message, str(outcome.kind), outcome.status
        event = ProviderCalled(
            provider=self.config.id,
            model=call.request.model,
            call_id=call.call_id,
            attempt=call.attempt,
            outcome=kind,
            latency_ms=round(latency, 3),
            status=status,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost or 0.0,
            breaker=self.breaker.state,
            prompt_messages=len(call.request.messages),
            prompt_chars=sum(len(m.content) for m in call.request.messages),
            prompt_digest=_digest(call.request.messages),
            stream=call.on_delta is not None,
            error=error,
            api_key_id=call.meta.api_key_id,
        )
        self._append([event, *self._state_change(now)], call.meta)
        self._publish()
        if not call.answer.done():
            call.answer.set_result(outcome)

    def _state_change(self, now: float) -> list[ProviderStateChanged]:
        status = self.status(now)
        shown = (status, self.breaker.state)
        if shown == self.shown:
            return []
        self.shown = shown
        until = self.cooling_until if self.cooling_until > now else None
        if self.breaker.state == "open":
            until = self.breaker.opened_until
        return [
            ProviderStateChanged(
                provider=self.config.id,
                breaker=self.breaker.state,
                status=status,
                reason=self.cooling_status if until == self.cooling_until else self.breaker.state,
                until=_wall(until, now) if until else None,
            )
        ]

    # -- state ---------------------------------------------------------------------------

    @property
    def configured(self) -> bool:
        return self.config.configured and self.answers

    def status(self, now: float) -> str:
        return decide.status_of(self._view(now), now)

    def _publish(self) -> None:
        now = self.clock()
        config = self.config
        view = self._view(now)
        vendor = msgspec.structs.asdict(self.limits.vendor)
        self.board[config.id] = Recorded(
            view,
            self.breaker.state,
            config,
            self.latency_ms,
            {"requests_per_minute": config.rpm, "tokens_per_minute": config.tpm,
             "vendor": {k: v for k, v in vendor.items() if v is not None}},
        )  # fmt: skip

    def _view(self, now: float) -> decide.View:
        config = self.config
        price = None
        if config.price_in is not None and config.price_out is not None:
            price = config.price_in + config.price_out
        return decide.View(
            id=config.id,
            priority=config.priority,
            configured=self.configured,
            enabled=config.enabled,
            breaker_open_until=self.breaker.opened_until if self.breaker.state == "open" else 0.0,
            probing=self.breaker.state == "half_open" and self.breaker.probing,
            cooling_until=self.cooling_until,
            cooling_status=self.cooling_status,
            limited=self.limits.used_up(now),
            limited_until=self.limits.free_at(now),
            latency_ms=self.latency_ms,
            calls=self.calls,
            successes=self.successes,
            price=price,
            context_window=config.context_window,
        )

    def _append(self, events: list[Any], meta: Meta) -> None:
        stream = f"provider-{self.config.id}"
        appended = self.store.append_soon(stream, ANY_VERSION, events, meta)
        appended.add_done_callback(_log_failure)

    # -- configuration, tests, probes ------------------------------------------------------

    def _configure(self, command: ConfigureProvider, reply: ReplyFn | None) -> None:
        changes = msgspec.structs.asdict(command)
        changes.pop("provider"), changes.pop("meta")
        self.config = self.config.with_changes(**changes)
        self.limits.rpm, self.limits.tpm = self.config.rpm, self.config.tpm
        event = ProviderConfigured(provider=self.config.id, **changes)
        appended = self.store.append_soon(
            f"provider-{self.config.id}", ANY_VERSION, [event], command.meta
        )
        self._publish()

        def done(future: asyncio.Future[Any]) -> None:
            if reply is None:
                return
            if future.exception() is not None:
                reply(Reply(ok=False, code=ErrorCode.SERVICE_UNAVAILABLE, message="not saved"))
            else:
                reply(Reply(ok=True, position=future.result().last_position))

        appended.add_done_callback(done)

    async def _probe(self) -> None:
        try:
            await self.client.models(timeout=2.0)
        except ProviderError:
            answers = False
        else:
            answers = True
        self.me.tell(Probed(answers))

    async def _test(self, reply: ReplyFn | None) -> None:
        result = await run_checks(self.config, self.configured, self.client, self.call)
        if reply is not None:
            reply(Reply(ok=True, data=result))

    async def call(self, request: ChatRequest, call_id: str, meta: Meta) -> Any:
        """One admitted-or-refused call through this actor (for the checks)."""
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.me.tell(Call(request, call_id, 1, answer, meta=meta))
        return await answer


def _estimate_tokens(request: ChatRequest) -> int:
    """A prompt's tokens before the vendor counts them: ~4 characters each."""
    return sum(len(m.content) for m in request.messages) // 4 + (request.max_tokens or 0)


def _digest(messages: list[Message]) -> str:
    h = hashlib.sha256()
    for message in messages:
        h.update(message.role.encode())
        h.update(b"\x00")
        h.update(message.content.encode())
        h.update(b"\x00")
    return h.hexdigest()


def _reset_in(error: ProviderError) -> float | None:
    if error.reset_at is None:
        return None
    return max(0.0, error.reset_at - time.time())


def _wall(until: float, now: float) -> str:
    """A monotonic deadline as UTC wall time."""
    return iso(datetime.fromtimestamp(time.time() + (until - now), UTC))


def _log_failure(future: asyncio.Future[Any]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.warning("provider event not recorded: %s", future.exception())
