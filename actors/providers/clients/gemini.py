"""Google's Gemini API (generativelanguage), native format.

Base URL: `https://generativelanguage.googleapis.com/v1beta`; the client appends
`/models/{model}:generateContent`, `/models/{model}:streamGenerateContent?alt=sse` and
`/models`. Header `x-goog-api-key`. Roles are `user` and `model` (our "assistant");
system messages become `systemInstruction`; limits go in `generationConfig`. A stream
has no end event: it is whole once a candidate carries its `finishReason` (or the
prompt was blocked). Thought parts are not part of the answer's text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import msgspec

from actors.providers.clients.base import (
    GEMINI,
    ChatRequest,
    ChatResult,
    StreamEvent,
    Usage,
)
from actors.providers.clients.transport import SseEvent, Transport, deadline_after
from actors.providers.errors import RateLimits, parse_rate_limits

_FINISH = {
    "STOP": "stop",
    "MAX_TOKENS": "length",
    "SAFETY": "content_filter",
    "RECITATION": "content_filter",
    "BLOCKLIST": "content_filter",
    "PROHIBITED_CONTENT": "content_filter",
    "SPII": "content_filter",
}


class _Part(msgspec.Struct):
    text: str | None = None
    thought: bool = False


class _Content(msgspec.Struct):
    parts: list[_Part] = []


class _Candidate(msgspec.Struct, rename="camel"):
    content: _Content | None = None
    finish_reason: str | None = None


class _Feedback(msgspec.Struct, rename="camel"):
    block_reason: str | None = None


class _UsageMetadata(msgspec.Struct, rename="camel"):
    prompt_token_count: int = 0
    candidates_token_count: int = 0
    thoughts_token_count: int = 0
    total_token_count: int = 0


class _Response(msgspec.Struct, rename="camel"):
    candidates: list[_Candidate] = []
    prompt_feedback: _Feedback | None = None
    usage_metadata: _UsageMetadata | None = None
    model_version: str | None = None
    response_id: str | None = None
    error: dict[str, Any] | None = None


class _Model(msgspec.Struct, rename="camel"):
    name: str
    supported_generation_methods: list[str] = []


class _ModelPage(msgspec.Struct, rename="camel"):
    models: list[_Model] = []
    next_page_token: str | None = None


_RESPONSE = msgspec.json.Decoder(_Response)
_MODELS = msgspec.json.Decoder(_ModelPage)


def _text(answer: _Response) -> str:
    if not answer.candidates or answer.candidates[0].content is None:
        return ""
    return "".join(p.text for p in answer.candidates[0].content.parts if p.text and not p.thought)


def _finish(answer: _Response) -> str | None:
    """The answer's finish reason, "content_filter" for a blocked prompt, None if open."""
    if answer.candidates and (reason := answer.candidates[0].finish_reason):
        return _FINISH.get(reason, reason.lower())
    if answer.prompt_feedback is not None and answer.prompt_feedback.block_reason:
        return "content_filter"
    return None


def _usage(meta: _UsageMetadata | None) -> Usage:
    if meta is None:
        return Usage()
    completion = meta.candidates_token_count + meta.thoughts_token_count
    total = meta.total_token_count or meta.prompt_token_count + completion
    return Usage(
        prompt_tokens=meta.prompt_token_count, completion_tokens=completion, total_tokens=total
    )


class _StreamDecoder:
    def __init__(self, transport: Transport, model: str) -> None:
        self.transport = transport
        self.model = model
        self.response_id: str | None = None
        self.finish_reason: str | None = None
        self.usage = Usage()

    def feed(self, event: SseEvent) -> str | None:
        answer = self.transport.decode(_RESPONSE, event.data)
        if answer.error is not None:
            raise self.transport.error_event({"error": answer.error})
        self.model = answer.model_version or self.model
        self.response_id = answer.response_id or self.response_id
        if answer.usage_metadata is not None:
            self.usage = _usage(answer.usage_metadata)
        self.finish_reason = _finish(answer) or self.finish_reason
        return _text(answer)

    def result(self, content: str, limits: RateLimits) -> ChatResult | None:
        if self.finish_reason is None:
            return None
        return ChatResult(
            content=content,
            model=self.model,
            usage=self.usage,
            finish_reason=self.finish_reason,
            response_id=self.response_id,
            limits=limits,
        )


class GeminiClient:
    style = GEMINI

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: str | None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> None:
        auth = {"x-goog-api-key": api_key} if api_key else {}
        headers = {**auth, **(extra_headers or {})}
        self._transport = Transport(http, base_url, headers, style=self.style, secret=api_key)

    @staticmethod
    def _path(request: ChatRequest, method: str) -> str:
        return f"/models/{request.model.removeprefix('models/')}:{method}"

    @staticmethod
    def _body(request: ChatRequest) -> dict[str, Any]:
        system = [{"text": m.content} for m in request.messages if m.role == "system"]
        body: dict[str, Any] = {
            "contents": [
                {
                    "role": "model" if m.role == "assistant" else "user",
                    "parts": [{"text": m.content}],
                }
                for m in request.messages
                if m.role != "system"
            ]
        }
        if system:
            body["systemInstruction"] = {"parts": system}
        config: dict[str, Any] = {}
        if request.max_tokens is not None:
            config["maxOutputTokens"] = request.max_tokens
        if request.temperature is not None:
            config["temperature"] = request.temperature
        if config:
            body["generationConfig"] = config
        return body

    async def complete(self, request: ChatRequest, *, timeout: float) -> ChatResult:
        content, headers = await self._transport.call(
            "POST",
            self._path(request, "generateContent"),
            deadline=deadline_after(timeout),
            body=self._body(request),
        )
        answer = self._transport.decode(_RESPONSE, content)
        return ChatResult(
            content=_text(answer),
            model=answer.model_version or request.model,
            usage=_usage(answer.usage_metadata),
            finish_reason=_finish(answer),
            response_id=answer.response_id,
            limits=parse_rate_limits(headers),
        )

    def stream(self, request: ChatRequest, *, timeout: float) -> AsyncIterator[StreamEvent]:
        return self._transport.stream(
            self._path(request, "streamGenerateContent"),
            self._body(request),
            _StreamDecoder(self._transport, request.model),
            timeout=timeout,
            params={"alt": "sse"},
        )

    async def models(self, *, timeout: float) -> list[str]:
        """The models that can generate content, without the "models/" prefix."""
        deadline = deadline_after(timeout)
        names: list[str] = []
        params = {"pageSize": "1000"}
        while True:
            content, _ = await self._transport.call(
                "GET", "/models", deadline=deadline, params=params
            )
            page = self._transport.decode(_MODELS, content)
            names += [
                model.name.removeprefix("models/")
                for model in page.models
                if "generateContent" in model.supported_generation_methods
                or not model.supported_generation_methods
            ]
            if not page.next_page_token:
                return names
            params = {"pageSize": "1000", "pageToken": page.next_page_token}
