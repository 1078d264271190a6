"""client.ai: a completion through the node's router, with failover."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from amas.sdk._call import ENDED, Call, Emit, Next, Open, Req, Stream, body
from amas.sdk._endpoint import M, Resource, endpoint, stream
from amas.sdk._parse import as_model
from amas.sdk._sources import ServerSentEvent, SseSpec
from amas.sdk.models.ai import Attempt, Completion, CompletionChunk

_TIMEOUT = 300.0
"""The router's retry budget and a provider's own timeout can add up."""


def _request(
    messages: Sequence[Mapping[str, str]],
    strategy: str | None,
    providers: Sequence[str] | None,
    max_tokens: int | None,
    temperature: float | None,
    stream: bool,
) -> dict[str, Any]:
    return body(
        messages=[dict(m) for m in messages],
        strategy=strategy,
        providers=list(providers) if providers is not None else None,
        max_tokens=max_tokens,
        temperature=temperature,
        stream=stream or None,
    )


def _chunk(event: ServerSentEvent) -> CompletionChunk:
    data: dict[str, Any] = event.data if isinstance(event.data, dict) else {}
    if event.event == "delta":
        return CompletionChunk(event="delta", text=data.get("text"))
    if event.event == "done":
        return CompletionChunk(event="done", completion=Completion.from_dict(data))
    if event.event == "error":
        return CompletionChunk(event="error", error=data)
    return CompletionChunk(event=event.event, attempt=Attempt.from_dict(data))


class AI(Resource[M]):
    prefix = "/ai"

    @endpoint("POST", "/complete")
    def complete(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        strategy: str | None = None,
        providers: Sequence[str] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Req[Completion]:
        """One chat completion (`messages` of `role` and `content`); the answer names
        the provider that gave it and every one tried on the way.
        ServiceUnavailableError (AI_PROVIDER_UNAVAILABLE) when none could."""
        json = _request(messages, strategy, providers, max_tokens, temperature, False)
        return Req(as_model(Completion), json=json, timeout=_TIMEOUT)

    @stream
    def stream(
        self,
        messages: Sequence[Mapping[str, str]],
        *,
        strategy: str | None = None,
        providers: Sequence[str] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
    ) -> Stream[CompletionChunk]:
        """The same completion as server-sent events: `attempt` for each failed try,
        `delta` for each piece of text, then `done` (the whole Completion) or `error`."""
        json = _request(messages, strategy, providers, max_tokens, temperature, True)
        call = Call.of(
            AI.complete.operation, Req(as_model(Completion), json=json, timeout=_TIMEOUT)
        )
        handle = yield Open(SseSpec(call))
        while (event := (yield Next(handle, _TIMEOUT))) is not ENDED:
            yield Emit(_chunk(event))
