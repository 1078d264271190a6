"""A fake of Google's Gemini API (generativelanguage v1beta), native format.

Serves `POST /v1beta/models/{model}:generateContent`,
`POST /v1beta/models/{model}:streamGenerateContent` (always as SSE, what `?alt=sse` asks
for: one GenerateContentResponse per event, the last with `finishReason` and the whole
`usageMetadata`) and `GET /v1beta/models` (paged with `pageSize` and `pageToken`);
`base_url` ends in `/v1beta`. The key is read from `x-goog-api-key` (or `?key=`), and
the answers are Google's own: a wrong key is 400 INVALID_ARGUMENT with reason
API_KEY_INVALID, a missing one 403 PERMISSION_DENIED. A body without `contents`, or with
a role other than user and model, is 400 INVALID_ARGUMENT. Gemini sends no rate-limit
headers: a 429 says when to retry in its RetryInfo `retryDelay`.

`rate_limited()` is a per-minute RESOURCE_EXHAUSTED; `quota_exhausted()` the free tier's
per-day quota (whose retryDelay is short and misleading); `quota_exhausted("limit0")` a
model without quota at the tier (`limit: 0`). `overloaded()` is 503 UNAVAILABLE.

`python -m tests.fakes.llm.gemini_api --port 0` serves it and prints its base URL.
"""

from __future__ import annotations

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

_RPC = "type.googleapis.com/google.rpc."
_METRIC = "generativelanguage.googleapis.com/generate_content_free_tier_requests"
_STATUS_NAMES = {
    500: "INTERNAL",
    501: "NOT_IMPLEMENTED",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def _error(code: int, status: str, message: str, *details: dict[str, Any]) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = list(details)
    return {"error": error}


def _sse(payload: Any) -> bytes:
    return b"data: " + msgspec.json.encode(payload) + b"\r\n\r\n"


def _quota(
    model: str, per: str, value: str, retry: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    message = (
        "You exceeded your current quota, please check your plan and billing details. For "
        "more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.\n"
        f"* Quota exceeded for metric: {_METRIC}, limit: {value}, model: {model}\n"
        f"Please retry in {retry}."
    )
    failure = {
        "@type": _RPC + "QuotaFailure",
        "violations": [
            {
                "quotaMetric": _METRIC,
                "quotaId": f"GenerateRequestsPer{per}PerProjectPerModel-FreeTier",
                "quotaDimensions": {"location": "global", "model": model},
                "quotaValue": value,
            }
        ],
    }
    return message, failure, {"@type": _RPC + "RetryInfo", "retryDelay": retry}


class FakeGemini(FakeVendor):
    style = "gemini"
    prefix = "/v1beta"
    models = ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.5-flash-lite")
    quota_variants = ("", "limit0")

    def route(self, request: Request) -> Call | Answer:
        key = request.headers.get("x-goog-api-key") or request.query.get("key")
        if key is None:
            message = (
                "Method doesn't allow unregistered callers (callers without established "
                "identity). Please use API Key or other form of API consumer identity to call "
                "this API."
            )
            return as_json(403, _error(403, "PERMISSION_DENIED", message))
        if key != self.key:
            info = {
                "@type": _RPC + "ErrorInfo",
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
            message = "API key not valid. Please pass a valid API key."
            return as_json(400, _error(400, "INVALID_ARGUMENT", message, info))
        if (request.method, request.path) == ("GET", "/v1beta/models"):
            return Call("models")
        model, _, method = request.path.removeprefix("/v1beta/models/").partition(":")
        if request.method != "POST" or method not in ("generateContent", "streamGenerateContent"):
            return as_json(404, _error(404, "NOT_FOUND", "Requested entity was not found."))
        body = request.body
        if not isinstance(body, dict):
            message = "Invalid JSON payload received. Unexpected token."
            return as_json(400, _error(400, "INVALID_ARGUMENT", message))
        if not body.get("contents"):
            message = "* GenerateContentRequest.contents: contents is not specified\n"
            return as_json(400, _error(400, "INVALID_ARGUMENT", message))
        if any(c.get("role") not in ("user", "model") for c in body["contents"]):
            message = "Please use a valid role: user, model."
            return as_json(400, _error(400, "INVALID_ARGUMENT", message))
        return Call("stream" if method == "streamGenerateContent" else "chat", model, body)

    def _response(self, reply: Ok, call: Call, text: str, finish: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {
            "content": {"parts": [{"text": text}], "role": "model"},
            "index": 0,
        }
        usage: dict[str, Any] = {
            "promptTokenCount": reply.prompt_tokens,
            "totalTokenCount": reply.prompt_tokens,
        }
        if finish:
            candidate["finishReason"] = "STOP"
            output = reply.completion_tokens or len(pieces(reply.text))
            usage["candidatesTokenCount"] = output
            usage["totalTokenCount"] = reply.prompt_tokens + output
            usage["promptTokensDetails"] = [{"modality": "TEXT", "tokenCount": reply.prompt_tokens}]
        return {
            "candidates": [candidate],
            "usageMetadata": usage,
            "modelVersion": reply.model or call.model,
            "responseId": f"fake{len(self.requests)}",
        }

    def completion(self, reply: Ok, call: Call) -> Answer:
        return as_json(200, self._response(reply, call, reply.text, finish=True))

    def stream_parts(self, reply: Ok, call: Call) -> tuple[list[bytes], list[bytes], list[bytes]]:
        body = [_sse(self._response(reply, call, piece, False)) for piece in pieces(reply.text)]
        return [], body, [_sse(self._response(reply, call, "", True))]

    def model_list(self, request: Request) -> Answer:
        page, following = self.page(int(request.query.get("pageToken") or 0))
        models = [
            {
                "name": f"models/{name}",
                "version": "001",
                "displayName": name,
                "inputTokenLimit": 1_048_576,
                "outputTokenLimit": 65_536,
                "supportedGenerationMethods": ["generateContent", "countTokens"],
            }
            for name in page
        ]
        answer: dict[str, Any] = {"models": models}
        if following is not None:
            answer["nextPageToken"] = str(following)
        return as_json(200, answer)

    def _failure(self, reply: Failure, call: Call) -> tuple[int, dict[str, Any]]:
        match reply:
            case RateLimited(retry_after=seconds, retry_after_ms=ms):
                delay = ms / 1000 if ms is not None else seconds or 1.0
                message, failure, retry = _quota(call.model, "Minute", "10", f"{delay:g}s")
                return 429, _error(429, "RESOURCE_EXHAUSTED", message, failure, retry)
            case QuotaExhausted(variant="limit0"):
                message, failure, retry = _quota(call.model, "Minute", "0", "21s")
                return 429, _error(429, "RESOURCE_EXHAUSTED", message, failure, retry)
            case QuotaExhausted():
                message, failure, retry = _quota(call.model, "Day", "250", "38s")
                return 429, _error(429, "RESOURCE_EXHAUSTED", message, failure, retry)
            case ServerError(status=status):
                message = (
                    "An internal error has occurred. Please retry or report in "
                    "https://developers.generativeai.google/guide/troubleshooting"
                )
                return status, _error(status, _STATUS_NAMES.get(status, "INTERNAL"), message)
            case Overloaded():
                message = "The model is overloaded. Please try again later."
                return 503, _error(503, "UNAVAILABLE", message)
            case ContextTooLong():
                message = (
                    "The input token count (1300000) exceeds the maximum number of tokens "
                    "allowed (1048576)."
                )
                return 400, _error(400, "INVALID_ARGUMENT", message)
            case NotFound():
                message = (
                    f"models/{call.model} is not found for API version v1beta, or is not "
                    "supported for generateContent. Call ListModels to see the list of "
                    "available models and their supported methods."
                )
                return 404, _error(404, "NOT_FOUND", message)

    def failure(self, reply: Failure, call: Call) -> Answer:
        return as_json(*self._failure(reply, call))

    def error_event(self, reply: Failure, call: Call) -> bytes:
        return _sse(self._failure(reply, call)[1])


if __name__ == "__main__":
    main(FakeGemini, __doc__)
