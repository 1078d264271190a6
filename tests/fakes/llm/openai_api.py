"""A fake of OpenAI's chat-completions API (so of every OpenAI-compatible vendor).

Serves `POST /v1/chat/completions` (an SSE stream when the body says `"stream": true`,
with a usage chunk only when `stream_options.include_usage` asks for it) and
`GET /v1/models`; `base_url` ends in `/v1`. `Authorization: Bearer <key>` is checked:
missing or wrong is OpenAI's 401. A body without `model` or `messages` is OpenAI's 400.
Every answer carries `x-ratelimit-*` headers (the remaining requests counting down) and
`x-request-id`. `quota_exhausted()` is the 429 `insufficient_quota`; `overloaded()` a 503.

`python -m tests.fakes.llm.openai_api --port 0` serves it and prints its base URL.
"""

from __future__ import annotations

import time
from typing import Any

import msgspec

from tests.fakes.llm.server import (
    Answer,
    Call,
    ContextTooLong,
    Failure,
    FakeVendor,
    NotFound,
    Ok,
    Overloaded,
    QuotaExhausted,
    RateLimited,
    Request,
    ServerError,
    as_json,
    main,
    pieces,
)

REQUESTS_LIMIT = 10_000
TOKENS_LIMIT = 30_000_000


def _error(message: str, kind: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _sse(payload: Any) -> bytes:
    return b"data: " + msgspec.json.encode(payload) + b"\n\n"


class FakeOpenAI(FakeVendor):
    style = "openai"
    prefix = "/v1"
    models = ("gpt-4o-mini", "gpt-4o", "text-embedding-3-small")

    def headers(self, exhausted: bool = False, reset: str = "6ms") -> dict[str, str]:
        served = len(self.requests)
        return {
            "x-request-id": f"req_fake{served}",
            "openai-processing-ms": "1",
            "x-ratelimit-limit-requests": str(REQUESTS_LIMIT),
            "x-ratelimit-remaining-requests": "0" if exhausted else str(REQUESTS_LIMIT - served),
            "x-ratelimit-reset-requests": reset,
            "x-ratelimit-limit-tokens": str(TOKENS_LIMIT),
            "x-ratelimit-remaining-tokens": str(TOKENS_LIMIT - 20 * served),
            "x-ratelimit-reset-tokens": "0s",
        }

    def route(self, request: Request) -> Call | Answer:
        authorization = request.headers.get("authorization")
        if authorization is None:
            return as_json(
                401,
                _error(
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                    "invalid_request_error",
                    None,
                ),
            )
        if authorization != f"Bearer {self.key}":
            sent = authorization.removeprefix("Bearer ")
            return as_json(
                401,
                _error(
                    f"Incorrect API key provided: {sent[:3]}{'*' * 12}{sent[-4:]}. You can find "
                    "your API key at https://platform.openai.com/account/api-keys.",
                    "invalid_request_error",
                    "invalid_api_key",
                ),
            )
        if (request.method, request.path) == ("GET", "/v1/models"):
            return Call("models")
        if (request.method, request.path) != ("POST", "/v1/chat/completions"):
            message = f"Invalid URL ({request.method} {request.path})"
            return as_json(404, _error(message, "invalid_request_error", None))
        body = request.body
        if not isinstance(body, dict):
            return as_json(
                400,
                _error(
                    "We could not parse the JSON body of your request.",
                    "invalid_request_error",
                    None,
                ),
            )
        if not body.get("model"):
            return as_json(
                400, _error("you must provide a model parameter", "invalid_request_error", None)
            )
        if not body.get("messages"):
            return as_json(
                400,
                _error(
                    "Missing required parameter: 'messages'.",
                    "invalid_request_error",
                    "missing_required_parameter",
                    "messages",
                ),
            )
        return Call("stream" if body.get("stream") else "chat", body["model"], body)

    def _usage(self, reply: Ok) -> dict[str, Any]:
        completion = reply.completion_tokens or len(pieces(reply.text))
        return {
            "prompt_tokens": reply.prompt_tokens,
            "completion_tokens": completion,
            "total_tokens": reply.prompt_tokens + completion,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
        }

    def _envelope(self, reply: Ok, call: Call, kind: str) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-fake{len(self.requests)}",
            "object": kind,
            "created": int(time.time()),
            "model": reply.model or call.model,
            "system_fingerprint": "fp_fake",
        }

    def completion(self, reply: Ok, call: Call) -> Answer:
        answer = self._envelope(reply, call, "chat.completion")
        answer["choices"] = [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ]
        answer["usage"] = self._usage(reply)
        return as_json(200, answer)

    def stream_parts(self, reply: Ok, call: Call) -> tuple[list[bytes], list[bytes], list[bytes]]:
        with_usage = bool((call.body.get("stream_options") or {}).get("include_usage"))
        envelope = self._envelope(reply, call, "chat.completion.chunk")

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            usage = {"usage": None} if with_usage else {}
            return _sse({**envelope, "choices": [choice], **usage})

        head = [chunk({"role": "assistant", "content": "", "refusal": None})]
        body = [chunk({"content": piece}) for piece in pieces(reply.text)]
        tail = [chunk({}, "stop")]
        if with_usage:
            tail.append(_sse({**envelope, "choices": [], "usage": self._usage(reply)}))
        tail.append(b"data: [DONE]\n\n")
        return head, body, tail

    def model_list(self, request: Request) -> Answer:
        data = [
            {"id": m, "object": "model", "created": 1_700_000_000, "owned_by": "system"}
            for m in self.models
        ]
        return as_json(200, {"object": "list", "data": data})

    def _failure(self, reply: Failure, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        match reply:
            case RateLimited(retry_after=seconds, retry_after_ms=ms):
                wait = f"{seconds if seconds is not None else (ms or 1000) / 1000:g}s"
                headers = self.headers(exhausted=True, reset=wait)
                if seconds is not None:
                    headers["retry-after"] = f"{seconds:g}"
                if ms is not None:
                    headers["retry-after-ms"] = f"{ms:g}"
                message = (
                    f"Rate limit reached for {call.model} in organization org-fake on requests "
                    f"per min (RPM): Limit 3, Used 3, Requested 1. Please try again in {wait}."
                )
                return 429, _error(message, "requests", "rate_limit_exceeded"), headers
            case QuotaExhausted():
                message = (
                    "You exceeded your current quota, please check your plan and billing "
                    "details. For more information on this error, read the docs: "
                    "https://platform.openai.com/docs/guides/error-codes/api-errors."
                )
                return (
                    429,
                    _error(message, "insufficient_quota", "insufficient_quota"),
                    {},
                )
            case ServerError(status=status):
                message = "The server had an error while processing your request. Sorry about that!"
                return status, _error(message, "server_error", None), {}
            case Overloaded():
                message = "The engine is currently overloaded, please try again later"
                return 503, _error(message, "server_error", None), {}
            case ContextTooLong():
                message = (
                    "This model's maximum context length is 128000 tokens. However, your "
                    "messages resulted in 130017 tokens. Please reduce the length of the messages."
                )
                error = _error(
                    message, "invalid_request_error", "context_length_exceeded", "messages"
                )
                return 400, error, {}
            case NotFound():
                message = (
                    f"The model `{call.model}` does not exist or you do not have access to it."
                )
                return (
                    404,
                    _error(message, "invalid_request_error", "model_not_found"),
                    {},
                )

    def failure(self, reply: Failure, call: Call) -> Answer:
        status, payload, headers = self._failure(reply, call)
        return as_json(status, payload, headers)

    def error_event(self, reply: Failure, call: Call) -> bytes:
        return _sse(self._failure(reply, call)[1])


if __name__ == "__main__":
    main(FakeOpenAI, __doc__)
