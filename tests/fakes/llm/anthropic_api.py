"""A fake of Anthropic's Messages API.

Serves `POST /v1/messages` (an SSE stream of `message_start`, `content_block_start`,
`ping`, `content_block_delta`s, `content_block_stop`, `message_delta`, `message_stop`
when the body says `"stream": true`) and `GET /v1/models` (paged with `limit` and
`after_id`); `base_url` is the host. `x-api-key` is checked (missing or wrong: 401
`authentication_error`), and so is `anthropic-version`. A body without `model`,
`messages` or `max_tokens`, or with a "system" message among its messages, is
Anthropic's 400. Every answer carries `anthropic-ratelimit-*` headers (resets as RFC 3339
instants) and `request-id`.

`quota_exhausted()` is the tier's spend cap (429 `rate_limit_error` with
`details.error_code: enforced_spend_limit_reached`, no retry-after);
`quota_exhausted("billing")` the 402 `billing_error`; `quota_exhausted("usage_limits")`
the 400 for a spend limit the customer set. `overloaded()` is the 529 `overloaded_error`;
`stream_error()` sends an `error` event mid-stream.

`python -m tests.fakes.llm.anthropic_api --port 0` serves it and prints its base URL.
"""

from __future__ import annotations

import datetime as dt
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

REQUESTS_LIMIT = 4_000
TOKENS_LIMIT = 400_000


def _instant(seconds: float) -> str:
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)
    return at.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _error(kind: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message, **extra}}


def _sse(payload: dict[str, Any]) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (payload["type"].encode(), msgspec.json.encode(payload))


def _next_month() -> str:
    today = dt.date.today()
    return dt.date(today.year + today.month // 12, today.month % 12 + 1, 1).isoformat()


class FakeAnthropic(FakeVendor):
    style = "anthropic"
    models = ("claude-sonnet-4-5", "claude-haiku-4-5", "claude-opus-4-1")
    quota_variants = ("", "billing", "usage_limits")

    def headers(self, exhausted: bool = False, reset: float = 1.0) -> dict[str, str]:
        served = len(self.requests)
        headers = {"request-id": f"req_fake{served}"}
        for name, limit, remaining in (
            ("requests", REQUESTS_LIMIT, 0 if exhausted else REQUESTS_LIMIT - served),
            ("tokens", TOKENS_LIMIT, TOKENS_LIMIT - 20 * served),
            ("input-tokens", TOKENS_LIMIT, TOKENS_LIMIT - 12 * served),
            ("output-tokens", TOKENS_LIMIT // 5, TOKENS_LIMIT // 5 - 8 * served),
        ):
            headers[f"anthropic-ratelimit-{name}-limit"] = str(limit)
            headers[f"anthropic-ratelimit-{name}-remaining"] = str(remaining)
            headers[f"anthropic-ratelimit-{name}-reset"] = _instant(reset)
        return headers

    def route(self, request: Request) -> Call | Answer:
        if request.headers.get("x-api-key") != self.key:
            return as_json(401, _error("authentication_error", "invalid x-api-key"))
        if "anthropic-version" not in request.headers:
            message = "anthropic-version: header is required"
            return as_json(400, _error("invalid_request_error", message))
        if (request.method, request.path) == ("GET", "/v1/models"):
            return Call("models")
        if (request.method, request.path) != ("POST", "/v1/messages"):
            return as_json(404, _error("not_found_error", "Not found"))
        body = request.body
        if not isinstance(body, dict):
            return as_json(400, _error("invalid_request_error", "Invalid JSON in request body"))
        for name in ("model", "messages", "max_tokens"):
            if name not in body:
                return as_json(400, _error("invalid_request_error", f"{name}: Field required"))
        if any(m.get("role") == "system" for m in body["messages"]):
            message = (
                'messages: Unexpected role "system". The Messages API accepts a top-level '
                '`system` parameter, not "system" as an input message role.'
            )
            return as_json(400, _error("invalid_request_error", message))
        return Call("stream" if body.get("stream") else "chat", body["model"], body)

    def _message(self, reply: Ok, call: Call, text: str, output: int) -> dict[str, Any]:
        return {
            "id": f"msg_fake{len(self.requests)}",
            "type": "message",
            "role": "assistant",
            "model": reply.model or call.model,
            "content": [{"type": "text", "text": text}] if text else [],
            "stop_reason": "end_turn" if text else None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": reply.prompt_tokens,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 0,
                "output_tokens": output,
                "service_tier": "standard",
            },
        }

    def completion(self, reply: Ok, call: Call) -> Answer:
        output = reply.completion_tokens or len(pieces(reply.text))
        return as_json(200, self._message(reply, call, reply.text, output))

    def stream_parts(self, reply: Ok, call: Call) -> tuple[list[bytes], list[bytes], list[bytes]]:
        output = reply.completion_tokens or len(pieces(reply.text))
        head = [
            _sse({"type": "message_start", "message": self._message(reply, call, "", 1)}),
            _sse(
                {
                    "type": "content_block_start",
                    "index": 0,
                    "content_block": {"type": "text", "text": ""},
                }
            ),
            _sse({"type": "ping"}),
        ]
        body = [
            _sse(
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                }
            )
            for piece in pieces(reply.text)
        ]
        tail = [
            _sse({"type": "content_block_stop", "index": 0}),
            _sse(
                {
                    "type": "message_delta",
                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": output},
                }
            ),
            _sse({"type": "message_stop"}),
        ]
        return head, body, tail

    def model_list(self, request: Request) -> Answer:
        names = list(self.models)
        after = request.query.get("after_id")
        start = names.index(after) + 1 if after in names else 0
        page, following = self.page(start)
        data = [
            {
                "type": "model",
                "id": name,
                "display_name": name,
                "created_at": "2025-09-29T00:00:00Z",
            }
            for name in page
        ]
        return as_json(
            200,
            {
                "data": data,
                "has_more": following is not None,
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
            },
        )

    def _failure(self, reply: Failure, call: Call) -> tuple[int, dict[str, Any], dict[str, str]]:
        match reply:
            case RateLimited(retry_after=seconds, retry_after_ms=ms):
                headers = self.headers(exhausted=True, reset=seconds or 1.0)
                if seconds is not None:
                    headers["retry-after"] = f"{seconds:g}"
                if ms is not None:
                    headers["retry-after-ms"] = f"{ms:g}"
                message = (
                    "This request would exceed the rate limit for your organization (org-fake) "
                    "of 50 requests per minute. For details, refer to: "
                    "https://docs.claude.com/en/api/rate-limits."
                )
                return 429, _error("rate_limit_error", message), headers
            case QuotaExhausted(variant="billing"):
                message = (
                    "Your credit balance is too low to access the Anthropic API. Please go to "
                    "Plans & Billing to upgrade or purchase credits."
                )
                return 402, _error("billing_error", message), {}
            case QuotaExhausted(variant="usage_limits"):
                message = (
                    "You have reached your specified API usage limits. You will regain access "
                    f"on {_next_month()} at 00:00 UTC."
                )
                return 400, _error("invalid_request_error", message), {}
            case QuotaExhausted():
                message = (
                    "You have reached your API usage limits: your organization has crossed its "
                    "monthly API usage threshold, set based on your organization's API tier. "
                    f"You will regain access on {_next_month()} at 00:00 UTC."
                )
                details = {"error_code": "enforced_spend_limit_reached"}
                return 429, _error("rate_limit_error", message, details=details), {}
            case ServerError(status=status):
                return status, _error("api_error", "Internal server error"), {}
            case Overloaded():
                return 529, _error("overloaded_error", "Overloaded"), {}
            case ContextTooLong():
                message = "prompt is too long: 208310 tokens > 200000 maximum"
                return 400, _error("invalid_request_error", message), {}
            case NotFound():
                return 404, _error("not_found_error", f"model: {call.model}"), {}

    def failure(self, reply: Failure, call: Call) -> Answer:
        status, payload, headers = self._failure(reply, call)
        payload["request_id"] = f"req_fake{len(self.requests)}"
        return as_json(status, payload, headers)

    def error_event(self, reply: Failure, call: Call) -> bytes:
        return _sse(self._failure(reply, call)[1])


if __name__ == "__main__":
    main(FakeAnthropic, __doc__)
