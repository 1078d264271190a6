"""OpenAI's chat-completions style, spoken by OpenAI and most other vendors (DeepSeek,
Groq, Mistral, OpenRouter, ollama's /v1, ...).

Base URL: the vendor's documented base with its version, e.g. `https://api.openai.com/v1`;
the client appends `/chat/completions` and `/models`. The key goes as
`Authorization: Bearer`, and no such header is sent when the key is None (a local
ollama). A stream asks for its usage with `stream_options: {include_usage: true}`,
unless the client is made with `stream_usage=False` for vendors that reject the field
(Cohere's compatibility API); such a stream's Done has zero usage. A stream is whole at
`data: [DONE]`, or, from servers that never send it, when it ends after a choice's
`finish_reason`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import msgspec

from actors.providers.clients.base import (
    OPENAI,
    ChatRequest,
    ChatResult,
    StreamEvent,
    Usage,
)
from actors.providers.clients.transport import SseEvent, Transport, deadline_after
from actors.providers.errors import RateLimits, parse_rate_limits


class _Message(msgspec.Struct):
    content: str | None = None


class _Choice(msgspec.Struct):
    message: _Message
    finish_reason: str | None = None


class _Completion(msgspec.Struct):
    choices: list[_Choice] = []
    model: str = ""
    id: str | None = None
    usage: Usage | None = None
    error: dict[str, Any] | None = None  # some compatible servers answer 200 with an error


class _Delta(msgspec.Struct):
    content: str | None = None


class _ChunkChoice(msgspec.Struct):
    delta: _Delta | None = None
    finish_reason: str | None = None


class _Chunk(msgspec.Struct):
    choices: list[_ChunkChoice] = []
    model: str = ""
    id: str | None = None
    usage: Usage | None = None
    error: dict[str, Any] | None = None


class _Model(msgspec.Struct):
    id: str


class _ModelList(msgspec.Struct):
    data: list[_Model]


_COMPLETION = msgspec.json.Decoder(_Completion)
_CHUNK = msgspec.json.Decoder(_Chunk)
_MODELS = msgspec.json.Decoder(_ModelList)


class _StreamDecoder:
    def __init__(self, transport: Transport, model: str) -> None:
        self.transport = transport
        self.model = model
        self.response_id: str | None = None
        self.finish_reason: str | None = None
        self.usage = Usage()
        self.done = False

    def feed(self, event: SseEvent) -> str | None:
        if event.data == "[DONE]":
            self.done = True
            return None
        chunk = self.transport.decode(_CHUNK, event.data)
        if chunk.error is not None:
            raise self.transport.error_event({"error": chunk.error})
        self.model = chunk.model or self.model
        self.response_id = chunk.id or self.response_id
        if chunk.usage is not None:
            self.usage = chunk.usage
        if not chunk.choices:
            return None
        choice = chunk.choices[0]
        self.finish_reason = choice.finish_reason or self.finish_reason
        return choice.delta.content if choice.delta else None

    def result(self, content: str, limits: RateLimits) -> ChatResult | None:
        if not (self.done or self.finish_reason):  # not every compatible server sends [DONE]
            return None
        return ChatResult(
            content=content,
            model=self.model,
            usage=self.usage,
            finish_reason=self.finish_reason,
            response_id=self.response_id,
            limits=limits,
        )


class OpenAIChatClient:
    style = OPENAI

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        extra_headers: Mapping[str, str] | None = None,
        *,
        stream_usage: bool = True,
    ) -> None:
        auth = {"authorization": f"Bearer {api_key}"} if api_key else {}
        headers = {**auth, **(extra_headers or {})}
        self._transport = Transport(http, base_url, headers, style=self.style, secret=api_key)
        self._stream_usage = stream_usage

    def _body(self, request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model, "messages": request.messages}
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if stream:
            body["stream"] = True
            if self._stream_usage:
                body["stream_options"] = {"include_usage": True}
        return body

    async def complete(self, request: ChatRequest, *, timeout: float) -> ChatResult:
        content, headers = await self._transport.call(
            "POST",
            "/chat/completions",
            deadline=deadline_after(timeout),
            body=self._body(request, stream=False),
        )
        answer = self._transport.decode(_COMPLETION, content)
        if answer.error is not None:
            raise self._transport.error_event({"error": answer.error})
        if not answer.choices:
            raise self._transport.malformed("an answer without choices")
        choice = answer.choices[0]
        return ChatResult(
            content=choice.message.content or "",
            model=answer.model or request.model,
            usage=answer.usage or Usage(),
            finish_reason=choice.finish_reason,
            response_id=answer.id,
            limits=parse_rate_limits(headers),
        )

    def stream(self, request: ChatRequest, *, timeout: float) -> AsyncIterator[StreamEvent]:
        return self._transport.stream(
            "/chat/completions",
            self._body(request, stream=True),
            _StreamDecoder(self._transport, request.model),
            timeout=timeout,
        )

    async def models(self, *, timeout: float) -> list[str]:
        content, _ = await self._transport.call("GET", "/models", deadline=deadline_after(timeout))
        return [model.id for model in self._transport.decode(_MODELS, content).data]
