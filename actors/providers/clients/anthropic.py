"""Anthropic's Messages API.

Base URL: `https://api.anthropic.com`; the client appends `/v1/messages` and
`/v1/models`. Headers `x-api-key` and `anthropic-version: 2023-06-01`. System messages
become the top-level `system` (joined by blank lines); `max_tokens`, which the API
requires, is 1024 when the request has none. A stream runs `message_start`,
`content_block_delta`s, `message_delta` (stop reason, output tokens), `message_stop`; an
`error` event may come at any point and is raised as the failure it names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import msgspec

from actors.providers.clients.base import (
    ANTHROPIC,
    ChatRequest,
    ChatResult,
    StreamEvent,
    Usage,
)
from actors.providers.clients.transport import SseEvent, Transport, deadline_after
from actors.providers.errors import RateLimits, parse_rate_limits

VERSION = "2023-06-01"
DEFAULT_MAX_TOKENS = 1024
_FINISH = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


class _Usage(msgspec.Struct):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None

    @property
    def prompt(self) -> int:
        """Input tokens, counting those written to or read from the prompt cache."""
        cached = (self.cache_creation_input_tokens or 0) + (self.cache_read_input_tokens or 0)
        return self.input_tokens + cached


class _Block(msgspec.Struct):
    type: str
    text: str = ""


class _Message(msgspec.Struct):
    id: str | None = None
    model: str = ""
    content: list[_Block] = []
    stop_reason: str | None = None
    usage: _Usage | None = None


class _Delta(msgspec.Struct):
    type: str | None = None
    text: str | None = None
    stop_reason: str | None = None


class _Event(msgspec.Struct):
    type: str
    message: _Message | None = None
    delta: _Delta | None = None
    usage: _Usage | None = None
    error: dict[str, Any] | None = None


class _Model(msgspec.Struct):
    id: str


class _ModelPage(msgspec.Struct):
    data: list[_Model]
    has_more: bool = False
    last_id: str | None = None


_MESSAGE = msgspec.json.Decoder(_Message)
_EVENT = msgspec.json.Decoder(_Event)
_MODELS = msgspec.json.Decoder(_ModelPage)


def _finish(stop_reason: str | None) -> str | None:
    return _FINISH.get(stop_reason, stop_reason) if stop_reason else None


def _usage(prompt: int, completion: int) -> Usage:
    return Usage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


class _StreamDecoder:
    def __init__(self, transport: Transport, model: str) -> None:
        self.transport = transport
        self.model = model
        self.response_id: str | None = None
        self.stop_reason: str | None = None
        self.prompt = 0
        self.completion = 0
        self.done = False

    def feed(self, event: SseEvent) -> str | None:
        data = self.transport.decode(_EVENT, event.data)
        match data.type:
            case "content_block_delta" if (
                data.delta is not None and data.delta.type == "text_delta"
            ):
                return data.delta.text
            case "message_start" if data.message is not None:
                self.model = data.message.model or self.model
                self.response_id = data.message.id
                if data.message.usage is not None:
                    self.prompt = data.message.usage.prompt
                    self.completion = data.message.usage.output_tokens
            case "message_delta":
                if data.delta is not None:
                    self.stop_reason = data.delta.stop_reason or self.stop_reason
                if data.usage is not None:  # cumulative counts
                    self.prompt = max(self.prompt, data.usage.prompt)
                    self.completion = data.usage.output_tokens
            case "message_stop":
                self.done = True
            case "error":
                raise self.transport.error_event({"type": "error", "error": data.error})
        return None

    def result(self, content: str, limits: RateLimits) -> ChatResult | None:
        if not self.done:
            return None
        return ChatResult(
            content=content,
            model=self.model,
            usage=_usage(self.prompt, self.completion),
            finish_reason=_finish(self.stop_reason),
            response_id=self.response_id,
            limits=limits,
        )


class AnthropicClient:
    style = ANTHROPIC

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        auth = {"x-api-key": api_key} if api_key else {}
        headers = {**auth, "anthropic-version": VERSION, **(extra_headers or {})}
        self._transport = Transport(http, base_url, headers, style=self.style, secret=api_key)

    @staticmethod
    def _body(request: ChatRequest, *, stream: bool) -> dict[str, Any]:
        system = [m.content for m in request.messages if m.role == "system"]
        body: dict[str, Any] = {
            "model": request.model,
            "max_tokens": request.max_tokens or DEFAULT_MAX_TOKENS,
            "messages": [m for m in request.messages if m.role != "system"],
        }
        if system:
            body["system"] = "\n\n".join(system)
        if request.temperature is not None:
            body["temperature"] = request.temperature
        if stream:
            body["stream"] = True
        return body

    async def complete(self, request: ChatRequest, *, timeout: float) -> ChatResult:
        content, headers = await self._transport.call(
            "POST",
            "/v1/messages",
            deadline=deadline_after(timeout),
            body=self._body(request, stream=False),
        )
        answer = self._transport.decode(_MESSAGE, content)
        usage = answer.usage or _Usage()
        return ChatResult(
            content="".join(block.text for block in answer.content if block.type == "text"),
            model=answer.model or request.model,
            usage=_usage(usage.prompt, usage.output_tokens),
            finish_reason=_finish(answer.stop_reason),
            response_id=answer.id,
            limits=parse_rate_limits(headers),
        )

    def stream(self, request: ChatRequest, *, timeout: float) -> AsyncIterator[StreamEvent]:
        return self._transport.stream(
            "/v1/messages",
            self._body(request, stream=True),
            _StreamDecoder(self._transport, request.model),
            timeout=timeout,
        )

    async def models(self, *, timeout: float) -> list[str]:
        deadline = deadline_after(timeout)
        names: list[str] = []
        params = {"limit": "1000"}
        while True:
            content, _ = await self._transport.call(
                "GET", "/v1/models", deadline=deadline, params=params
            )
            page = self._transport.decode(_MODELS, content)
            names += [model.id for model in page.data]
            if not page.has_more or page.last_id is None:
                return names
            params = {"limit": "1000", "after_id": page.last_id}
