"""The router: one completion, from whichever provider can give it, with honest failover.

It takes `amas.cmd.provider.complete` (and hands configuration and test commands to
the provider they name). Each completion runs as a coroutine on the loop, so the
router's mailbox never waits on a vendor: order the providers (decide.order), ask the
first through its actor, and on a failure do what decide.verdict says — retry here
with backoff, go to the next, go to a larger window, or stop. The whole call, waits
included, stays within `retry_budget` seconds. When every usable provider is cooling
down it waits for the first to come back if that fits the budget; otherwise the answer
is AI_PROVIDER_UNAVAILABLE with the earliest `retry_after`.

A streamed call forwards the first provider's pieces as they come; a provider that
fails before its first piece is replaced by the next, one that fails after it ends
the stream with an error (its text cannot be taken back).
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from actors.io import Incoming, LoopBridge, ReplyFn
from actors.providers import decide
from actors.providers.breaker import BreakerPolicy
from actors.providers.clients.base import ChatRequest, ChatResult, Message
from actors.providers.errors import ProviderError
from actors.providers.provider import Call, Recorded
from actors.supervision import Child, SupervisedActor, Supervisor
from events import tracing
from events.commands import (
    Complete,
    ConfigureProvider,
    Reply,
    StreamPiece,
    TestProvider,
    stream_piece_encoder,
)
from events.ids import new_prefixed_id
from events.vocabulary import ErrorCode

Publish = Callable[[str, bytes], Any]


@dataclass(frozen=True)
class RouterSettings:
    strategy: str = "priority"
    retry_budget: float = 30.0
    """Seconds one call may spend, retries and waits included (Portkey caps it at 60)."""
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    breaker: BreakerPolicy = field(default_factory=BreakerPolicy)
    """Each provider's circuit breaker (breaker.py has the defaults and why)."""


class Router(SupervisedActor):
    def __init__(
        self,
        supervisor: Supervisor,
        name: str,
        bridge: LoopBridge,
        providers: Mapping[str, Child],
        board: Mapping[str, Recorded],
        publish: Publish,
        settings: RouterSettings,
    ) -> None:
        super().__init__(supervisor, name)
        self.bridge = bridge
        self.providers = providers
        self.board = board
        self.publish = publish
        self.settings = settings
        self.turns = itertools.count()

    def on_receive(self, message: Any) -> Any:
        match message:
            case Incoming(command=Complete() as command, reply=reply, trace=trace):
                self.bridge.spawn(self._complete(command, reply, next(self.turns), trace))
            case Incoming(command=ConfigureProvider() | TestProvider() as command, reply=reply):
                provider = self.providers.get(command.provider)
                if provider is None:
                    if reply is not None:
                        reply(_unknown(command.provider))
                else:
                    provider.tell(message)
            case _:
                raise TypeError(f"router got an unknown message: {message!r}")

    async def _complete(
        self, command: Complete, reply: ReplyFn | None, turn: int, trace: str | None
    ) -> None:
        with tracing.span("ai.complete", parent=trace) as span:
            answer = await Failover(self, command, turn).run()
            if span is not None:
                span.set_attribute("amas.ok", answer.ok)
        if reply is not None:
            reply(answer)


class Failover:
    """One call's way through the providers."""

    def __init__(self, router: Router, command: Complete, turn: int) -> None:
        self.router = router
        self.command = command
        self.turn = turn
        self.settings = router.settings
        self.strategy = command.strategy or router.settings.strategy
        self.call_id = new_prefixed_id("call")
        self.attempts: list[dict[str, Any]] = []
        self.tried: set[str] = set()
        self.min_context = 0
        self.streamed = False
        self.deadline = time.monotonic() + router.settings.retry_budget

    def _views(self) -> list[decide.View]:
        wanted = self.command.providers
        return [
            recorded.view
            for pid, recorded in self.router.board.items()
            if wanted is None or pid in wanted
        ]

    async def run(self) -> Reply:
        if self.command.providers:
            unknown = [p for p in self.command.providers if p not in self.router.board]
            if unknown:
                return Reply(
                    ok=False,
                    code=ErrorCode.INVALID_PARAMETER,
                    message=f"unknown AI provider {unknown[0]!r}",
                    details={"parameter": "providers", "known": sorted(self.router.board)},
                )
        attempt = 0
        while True:
            now = time.monotonic()
            candidates = decide.order(
                self.strategy, self._views(), now, self.turn, self.min_context
            )
            pick = next((c for c in candidates if c.skip is None and c.id not in self.tried), None)
            if pick is None:
                waits = [c.until for c in candidates if c.until is not None and c.until > now]
                earliest = min(waits, default=None)
                if earliest is not None and earliest <= self.deadline:
                    await asyncio.sleep(earliest - now)  # the first to come back is worth it
                    self.tried -= {c.id for c in candidates if c.until == earliest}
                    continue
                return self._unavailable(candidates, earliest, now)
            retries = 0
            while True:
                attempt += 1
                outcome = await self._ask(pick.id, attempt)
                if isinstance(outcome, ChatResult):
                    return self._answered(pick.id, outcome, candidates)
                if isinstance(outcome, str):  # its state changed since the order was made
                    self._note(pick.id, "skipped", outcome)
                    break
                self._note(pick.id, str(outcome.kind), outcome.message, outcome.status)
                if outcome.started_streaming:
                    return _refused(ErrorCode.AI_PROVIDER_UNAVAILABLE, outcome.message, self)
                verdict = decide.verdict(
                    outcome.kind,
                    retries,
                    self._max_retries(pick.id),
                    outcome.retry_after,
                    None,
                )
                if verdict.action == decide.Action.STOP:
                    return _refused(ErrorCode.INVALID_REQUEST, outcome.message, self)
                if verdict.action == decide.Action.LARGER:
                    window = self.router.board[pick.id].view.context_window
                    self.min_context = max(self.min_context, window)
                if verdict.action != decide.Action.RETRY:
                    break
                pause = decide.backoff(
                    retries,
                    outcome.retry_after,
                    self.settings.backoff_base,
                    self.settings.backoff_cap,
                )
                if time.monotonic() + pause > self.deadline:
                    break
                await asyncio.sleep(pause)
                retries += 1
            self.tried.add(pick.id)

    async def _ask(self, provider: str, attempt: int) -> ChatResult | ProviderError | str:
        command = self.command
        request = ChatRequest(
            messages=[Message(m.role, m.content) for m in command.messages],
            model=self.router.board[provider].config.model,
            max_tokens=command.max_tokens,
            temperature=command.temperature,
        )
        answer: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        on_delta = self._forward if command.stream_to else None
        self.router.providers[provider].tell(
            Call(
                request,
                self.call_id,
                attempt,
                answer,
                on_delta=on_delta,
                meta=command.meta,
                trace=tracing.current(),
            )
        )
        outcome: ChatResult | ProviderError | str = await answer
        if isinstance(outcome, ProviderError) and command.stream_to:
            piece = StreamPiece(
                kind="attempt", provider=provider, outcome=str(outcome.kind), reason=outcome.message
            )
            await self._piece(piece)
        return outcome

    async def _forward(self, text: str) -> None:
        self.streamed = True
        await self._piece(StreamPiece(kind="delta", text=text))

    async def _piece(self, piece: StreamPiece) -> None:
        assert self.command.stream_to is not None
        await self.router.publish(self.command.stream_to, stream_piece_encoder.encode(piece))

    def _max_retries(self, provider: str) -> int:
        return self.router.board[provider].config.max_retries

    def _note(self, provider: str, outcome: str, reason: str, status: int | None = None) -> None:
        entry: dict[str, Any] = {"provider": provider, "outcome": outcome, "reason": reason}
        if status is not None:
            entry["status"] = status
        self.attempts.append(entry)

    def _skipped_before(self, candidates: list[decide.Candidate], answered: str | None) -> None:
        """Note the providers skipped ahead of the one that answered (all, if none did)."""
        ranks = {v.id: (v.priority, v.id) for v in self._views()}
        bar = ranks.get(answered) if answered else None
        for c in candidates:
            if c.skip is not None and c.id not in self.tried and (bar is None or ranks[c.id] < bar):
                self._note(c.id, "skipped", c.skip)

    def _answered(
        self, provider: str, result: ChatResult, candidates: list[decide.Candidate]
    ) -> Reply:
        self._skipped_before(candidates, provider)
        self.attempts.append({"provider": provider, "outcome": "ok", "reason": ""})
        usage = result.usage
        cost = self.router.board[provider].config.cost(usage.prompt_tokens, usage.completion_tokens)
        return Reply(
            ok=True,
            data={
                "content": result.content,
                "provider": provider,
                "model": result.model,
                "finish_reason": result.finish_reason,
                "attempts": self.attempts,
                "usage": {
                    "prompt_tokens": usage.prompt_tokens,
                    "completion_tokens": usage.completion_tokens,
                    "total_tokens": usage.total_tokens
                    or usage.prompt_tokens + usage.completion_tokens,
                },
                "cost_usd": cost,
                "call_id": self.call_id,
                "strategy": self.strategy,
            },
        )

    def _unavailable(
        self, candidates: list[decide.Candidate], earliest: float | None, now: float
    ) -> Reply:
        self._skipped_before(candidates, None)
        details: dict[str, Any] = {"attempts": self.attempts, "call_id": self.call_id}
        if earliest is not None:
            details["retry_after"] = round(earliest - now, 3)
        tried = sum(1 for a in self.attempts if a["outcome"] != "skipped")
        return Reply(
            ok=False,
            code=ErrorCode.AI_PROVIDER_UNAVAILABLE,
            message=f"no AI provider could answer ({tried} attempts; "
            f"{len(self.attempts) - tried} providers skipped)",
            details=details,
        )


def _refused(code: ErrorCode, message: str, failover: Failover) -> Reply:
    return Reply(
        ok=False,
        code=code,
        message=message,
        details={"attempts": failover.attempts, "call_id": failover.call_id},
    )


def _unknown(provider: str) -> Reply:
    return Reply(
        ok=False,
        code=ErrorCode.NOT_FOUND,
        message=f"AI provider {provider!r} not found",
        details={"provider": provider},
    )
