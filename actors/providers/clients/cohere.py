"""Cohere's v2 chat API.

Base URL: the host alone, `https://api.cohere.com`, because the paths carry their own
versions: the client appends `/v2/chat` for chat and `/v1/models` for the model list
(Cohere has no v2 list; it is asked for chat models only). Header `Authorization:
Bearer`. Usage comes from `usage.tokens` (`billed_units` when absent). Cohere's answer
does not name the model, so the result carries the requested one. A stream runs
`message-start`, `content-delta`s and `message-end` (finish reason, usage); a
`message-end` with finish reason ERROR is a failure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import msgspec

from actors.providers.clients.base import (
    COHERE,
    ChatRequest,
    ChatResult,
    StreamEvent,
    Usage,
)
from actors.providers.clients.transport import SseEvent, Transport, deadline_after
from actors.providers.errors import RateLimits, parse_rate_limits

_FINISH = {
    "COMPLETE": "stop",
    "STOP_SEQUENCE": "stop",
    "MAX_TOKENS": "length",
    "TOOL_CALL": "tool_calls",
    "ERROR_TOXIC": "content_filter",
}


class _Tokens(msgspec.Struct):
    input_tokens: float = 0
    output_tokens: float = 0


class _Usage(msgspec.Struct):
    tokens: _Tokens | None = None
    billed_units: _Tokens | None = None


class _Text(msgspec.Struct):
    type: str = "text"
    text: str = ""


class _Message(msgspec.Struct):
    content: list[_Text] = []


class _Response(msgspec.Struct):
    id: str | None = None
    message: _Message | None = None
    finish_reason: str | None = None
    usage: _Usage | None = None


class _DeltaMessage(msgspec.Struct):
    content: Any = None  # a list in message-start, an object in content-start and -delta


class _Delta(msgspec.Struct):
    message: _DeltaMessage | None = None
    finish_reason: str | None = None
    usage: _Usage | None = None
    error: str | None = None


class _Event(msgspec.Struct):
    type: str
    id: str | None = None
    delta: _Delta | None = None


class _Model(msgspec.Struct):
    name: str


class _ModelPage(msgspec.Struct):
    models: list[_Model] = []
    next_page_token: str | None = None


_RESPONSE = msgspec.json.Decoder(_Response)
_EVENT = msgspec.json.Decoder(_Event)
_MODELS = msgspec.json.Decoder(_ModelPage)


def _finish(reason: str | None) -> str | None:
    return _FINISH.get(reason, reason.lower()) if reason else None


def _usage(usage: _Usage | None) -> Usage:
    tokens = usage and (usage.tokens or usage.billed_units)
    if not tokens:
        return Usage()
    prompt, completion = int(tokens.input_tokens), int(tokens.output_tokens)
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


class _StreamDecoder:
    def __init__(self, transport: Transport, model: str) -> None:
        self.transport = transport
        self.model = model
        self.response_id: str | None = None
        self.end: _Delta | None = None

    def feed(self, event: SseEvent) -> str | None:
        data = self.transport.decode(_EVENT, event.data)
        match data.type:
            case "content-delta" if data.delta is not None and data.delta.message is not None:
                content = data.delta.message.content
                return str(content.get("text") or "") if isinstance(content, dict) else None
            case "message-start":
                self.response_id = data.id
            case "message-end" if data.delta is not None:
                if data.delta.finish_reason == "ERROR":
                    raise self.transport.error_event({"message": data.delta.error or "ERROR"})
                self.end = data.delta
        return None

    def result(self, content: str, limits: RateLimits) -> ChatResult | None:
        if self.end is None:
            return None
        return ChatResult(
            content=content,
            model=self.model,
            usage=_usage(self.end.usage),
            finish_reason=_finish(self.end.finish_reason),
            response_id=self.response_id,
            limits=limits,
        )


class CohereClient:
    style = COHERE

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        auth = {"authorization": f"Bearer {api_key}"} if api_key else {}
        headers = {**auth, **(extra_headers or {})}
        self._transport = Transport(http, base_url, headers, style=self.style, secret=api_key)

    @staticmethod
    def _body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        body: dict[str, Any] = {"model": request.model, "messages": request.messages}
        if request.max_tokens is not None:
            body["max_tokens"] = request.max_tokens
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if stream:
            body["stream"] = True
        return body

    async def complete(self, request: ChatRequest, *, timeout: float) -> ChatResult:
        content, headers = await self._transport.call(
            "POST",
            "/v2/chat",
            deadline=deadline_after(timeout),
            body=self._body(request, stream=False),
        )
        answer = self._transport.decode(_RESPONSE, content)
        parts = answer.message.content if answer.message else []
        return ChatResult(
            content="".join(part.text for part in parts if part.type == "text"),
            model=request.model,
            usage=_usage(answer.usage),
            finish_reason=_finish(answer.finish_reason),
            response_id=answer.id,
            limits=parse_rate_limits(headers),
        )

    def stream(self, request: ChatRequest, *, timeout: float) -> AsyncIterator[StreamEvent]:
        return self._transport.stream(
            "/v2/chat",
            self._body(request, stream=True),
            _StreamDecoder(self._transport, request.model),
            timeout=timeout,
        )

    async def models(self, *, timeout: float) -> list[str]:
        deadline = deadline_after(timeout)
        names: list[str] = []
        params = {"page_size": "1000", "endpoint": "chat"}
        while True:
            content, _ = await self._transport.call(
                "GET", "/v1/models", deadline=deadline, params=params
            )
            page = self._transport.decode(_MODELS, content)
            names += [model.name for model in page.models]
            if not page.next_page_token:
                return names
            params = {"page_size": "1000", "endpoint": "chat", "page_token": page.next_page_token}
