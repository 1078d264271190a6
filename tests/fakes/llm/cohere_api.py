"""A fake of Cohere's v2 chat API.

Serves `POST /v2/chat` (an SSE stream of `message-start`, `content-start`,
`content-delta`s, `content-end`, `message-end` when the body says `"stream": true`) and
`GET /v1/models` (paged with `page_size` and `page_token`); `base_url` is the host.
`Authorization: Bearer <key>` is checked (missing or wrong: 401). A body without `model`
or `messages`, or with an unknown role, is a 400. Error bodies are Cohere's
`{"id", "message"}`; the answer's `usage.tokens` and `usage.billed_units` differ (billing
leaves out the tokens Cohere adds), and the answer names no model, as Cohere's does not.
The 400 messages for a bad body are plausible, not copied from Cohere.

`rate_limited()` is the trial key's per-minute 429; `quota_exhausted()` its monthly
limit (also 429); `quota_exhausted("billing")` the 402 for a billing limit.
`overloaded()` is a 503; `stream_error()` ends the stream with finish reason ERROR.

`python -m tests.fakes.llm.cohere_api --port 0` serves it and prints its base URL.
"""

from __future__ import annotations

import uuid
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

ROLES = ("system", "user", "assistant", "tool")
_TRIAL = (
    "You are using a Trial key, which is limited to {limit}. You can continue to use the "
    "Trial key for free or upgrade to a Production key with higher rate limits at "
    "'https://dashboard.cohere.com/api-keys'."
)


def _error(message: str) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "message": message}


def _sse(payload: dict[str, Any]) -> bytes:
    return b"event: %s\ndata: %s\n\n" % (payload["type"].encode(), msgspec.json.encode(payload))


class FakeCohere(FakeVendor):
    style = "cohere"
    models = ("command-a-03-2025", "command-r-plus-08-2024", "command-r7b-12-2024")
    quota_variants = ("", "billing")

    def route(self, request: Request) -> Call | Answer:
        authorization = request.headers.get("authorization")
        if authorization is None:
            return as_json(401, _error("no api key supplied"))
        if authorization != f"Bearer {self.key}":
            return as_json(401, _error("invalid api token"))
        if (request.method, request.path) == ("GET", "/v1/models"):
            return Call("models")
        if (request.method, request.path) != ("POST", "/v2/chat"):
            return as_json(404, _error(f"path {request.path} not found"))
        body = request.body
        if not isinstance(body, dict):
            return as_json(400, _error("invalid request: could not parse the JSON body"))
        if not body.get("model"):
            return as_json(400, _error("invalid request: model must be specified"))
        if not body.get("messages"):
            return as_json(400, _error("invalid request: messages cannot be empty"))
        for message in body["messages"]:
            if message.get("role") not in ROLES:
                return as_json(
                    400, _error(f"invalid request: invalid role {message.get('role')!r}")
                )
        return Call("stream" if body.get("stream") else "chat", body["model"], body)

    @staticmethod
    def _usage(reply: Ok) -> dict[str, Any]:
        output = reply.completion_tokens or len(pieces(reply.text))
        return {
            "billed_units": {
                "input_tokens": max(reply.prompt_tokens - 4, 0),
                "output_tokens": output,
            },
            "tokens": {"input_tokens": reply.prompt_tokens, "output_tokens": output},
        }

    def completion(self, reply: Ok, call: Call) -> Answer:
        answer = {
            "id": str(uuid.uuid4()),
            "message": {"role": "assistant", "content": [{"type": "text", "text": reply.text}]},
            "finish_reason": "COMPLETE",
            "usage": self._usage(reply),
        }
        return as_json(200, answer)

    def stream_parts(self, reply: Ok, call: Call) -> tuple[list[bytes], list[bytes], list[bytes]]:
        start = {
            "role": "assistant",
            "content": [],
            "tool_plan": "",
            "tool_calls": [],
            "citations": [],
        }
        head = [
            _sse({"id": str(uuid.uuid4()), "type": "message-start", "delta": {"message": start}}),
            _sse(
                {
                    "type": "content-start",
                    "index": 0,
                    "delta": {"message": {"content": {"type": "text", "text": ""}}},
                }
            ),
        ]
        body = [
            _sse(
                {
                    "type": "content-delta",
                    "index": 0,
                    "delta": {"message": {"content": {"text": piece}}},
                }
            )
            for piece in pieces(reply.text)
        ]
        end = {"finish_reason": "COMPLETE", "usage": self._usage(reply)}
        tail = [
            _sse({"type": "content-end", "index": 0}),
            _sse({"type": "message-end", "delta": end}),
        ]
        return head, body, tail

    def model_list(self, request: Request) -> Answer:
        page, following = self.page(int(request.query.get("page_token") or 0))
        models = [
            {"name": name, "endpoints": ["chat"], "finetuned": False, "context_length": 256000}
            for name in page
        ]
        answer: dict[str, Any] = {"models": models}
        if following is not None:
            answer["next_page_token"] = str(following)
        return as_json(200, answer)

    def _failure(self, reply: Failure, call: Call) -> tuple[int, str, dict[str, str]]:
        match reply:
            case RateLimited(retry_after=seconds, retry_after_ms=ms):
                headers = {}
                if seconds is not None:
                    headers["retry-after"] = f"{seconds:g}"
                if ms is not None:
                    headers["retry-after-ms"] = f"{ms:g}"
                return 429, _TRIAL.format(limit="20 API calls / minute"), headers
            case QuotaExhausted(variant="billing"):
                message = (
                    "Please add or update your payment method at "
                    "https://dashboard.cohere.com/billing?tab=payment to continue"
                )
                return 402, message, {}
            case QuotaExhausted():
                return 429, _TRIAL.format(limit="1000 API calls / month"), {}
            case ServerError(status=status):
                return status, "internal server error, this has been reported to our developers", {}
            case Overloaded():
                return 503, "service unavailable, please try again later", {}
            case ContextTooLong():
                message = (
                    "too many tokens: size limit exceeded by 11326 tokens. Try using shorter or "
                    "fewer inputs. The limit for this model is 132000 tokens."
                )
                return 400, message, {}
            case NotFound():
                message = (
                    f"model '{call.model}' not found, make sure the correct model ID was used "
                    "and that you have access to the model."
                )
                return 404, message, {}

    def failure(self, reply: Failure, call: Call) -> Answer:
        status, message, headers = self._failure(reply, call)
        return as_json(status, _error(message), headers)

    def error_event(self, reply: Failure, call: Call) -> bytes:
        end = {"finish_reason": "ERROR", "error": self._failure(reply, call)[1]}
        return _sse({"type": "message-end", "delta": end})


if __name__ == "__main__":
    main(FakeCohere, __doc__)
