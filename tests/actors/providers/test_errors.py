"""The one place vendor failures are translated: each vendor's error bodies and headers
into a FailureKind with the wait the vendor asked for, and the rate-limit headers into
RateLimits. Pure functions, checked at fixed instants."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
from typing import Any

import httpx
import pytest

from actors.providers.errors import (
    FailureKind,
    ProviderError,
    RateLimits,
    from_error_event,
    from_response,
    from_transport,
    parse_rate_limits,
)

K = FailureKind
NOW = dt.datetime(2026, 3, 7, 20, 0, tzinfo=dt.UTC).timestamp()
"""Saturday noon in California (PST); daylight saving time starts the next night."""


def at(text: str) -> float:
    return dt.datetime.fromisoformat(text).timestamp()


def classify(
    style: str, status: int, body: Any, headers: dict[str, str] | None = None, now: float = NOW
) -> ProviderError:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return from_response(style, status, content, headers or {}, secret="sk-secret", now=now)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("12ms", 0.012),
        ("6m0s", 360.0),
        ("1s", 1.0),
        ("1h2m3.5s", 3723.5),
        ("2m59.56s", 179.56),
        ("0.5", 0.5),
    ],
)
def test_openai_reset_durations_are_read_as_seconds(text: str, seconds: float) -> None:
    limits = parse_rate_limits({"x-ratelimit-reset-requests": text})
    assert limits.requests_reset_s == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["soon", "5 minutes", "1x", "", "s"])
def test_an_unreadable_reset_is_unknown(text: str) -> None:
    assert parse_rate_limits({"x-ratelimit-reset-tokens": text}).tokens_reset_s is None


def test_openai_style_headers_become_limits() -> None:
    headers = {
        "x-ratelimit-limit-requests": "500",
        "x-ratelimit-remaining-requests": "499",
        "x-ratelimit-reset-requests": "120ms",
        "x-ratelimit-limit-tokens": "30000",
        "x-ratelimit-remaining-tokens": "29000",
        "x-ratelimit-reset-tokens": "2s",
    }
    assert parse_rate_limits(httpx.Headers(headers)) == RateLimits(
        requests_limit=500,
        requests_remaining=499,
        requests_reset_s=0.12,
        tokens_limit=30000,
        tokens_remaining=29000,
        tokens_reset_s=2.0,
    )


def test_anthropic_resets_are_instants_read_as_seconds_from_now() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-requests-remaining": "0",
        "anthropic-ratelimit-requests-reset": "2026-03-07T20:00:30Z",
        "anthropic-ratelimit-tokens-limit": "40000",
        "anthropic-ratelimit-tokens-remaining": "39000",
        "anthropic-ratelimit-tokens-reset": "2026-03-07T20:01:00Z",
    }
    assert parse_rate_limits(headers, now=NOW) == RateLimits(
        requests_limit=50,
        requests_remaining=0,
        requests_reset_s=30.0,
        tokens_limit=40000,
        tokens_remaining=39000,
        tokens_reset_s=60.0,
    )


def test_anthropic_without_combined_token_headers_reads_the_input_tokens() -> None:
    headers = {
        "anthropic-ratelimit-requests-limit": "50",
        "anthropic-ratelimit-input-tokens-limit": "20000",
        "anthropic-ratelimit-input-tokens-remaining": "19000",
        "anthropic-ratelimit-input-tokens-reset": "2026-03-07T20:00:05Z",
    }
    limits = parse_rate_limits(headers, now=NOW)
    assert (limits.tokens_limit, limits.tokens_remaining, limits.tokens_reset_s) == (
        20000,
        19000,
        5.0,
    )


def test_a_vendor_without_rate_limit_headers_has_empty_limits() -> None:
    assert parse_rate_limits({"content-type": "application/json"}) == RateLimits()
    assert classify("gemini", 500, {}).limits is None


def test_retry_after_may_be_an_http_date() -> None:
    date = email.utils.format_datetime(dt.datetime.fromtimestamp(NOW + 120, dt.UTC), usegmt=True)
    assert classify("openai", 503, {}, {"retry-after": date}).retry_after == 120.0


def test_the_vendors_retry_after_header_wins_over_its_body() -> None:
    body = {"error": {"status": "RESOURCE_EXHAUSTED", "details": [RETRY_46S]}}
    assert classify("gemini", 429, body, {"retry-after": "3"}).retry_after == 3.0


def openai(kind: str | None, code: str | None, message: str = "") -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def anthropic(kind: str, message: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message, **extra}}


def google(code: int, status: str, message: str = "", *details: Any) -> dict[str, Any]:
    return {"error": {"code": code, "status": status, "message": message, "details": details}}


def quota_failure(quota_id: str, value: str) -> dict[str, Any]:
    violation = {"quotaId": quota_id, "quotaValue": value, "quotaMetric": "m"}
    return {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [violation]}


RETRY_46S = {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "46s"}
KEY_INVALID = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID"}
PER_MINUTE = quota_failure("GenerateRequestsPerMinutePerProjectPerModel-FreeTier", "10")
PER_DAY = quota_failure("GenerateRequestsPerDayPerProjectPerModel-FreeTier", "250")
NO_QUOTA = quota_failure("GenerateContentInputTokensPerModelPerMinute-FreeTier", "0")


@pytest.mark.parametrize(
    ("style", "status", "body", "kind"),
    [
        ("openai", 429, openai("insufficient_quota", "insufficient_quota"), K.QUOTA_EXHAUSTED),
        ("openai", 429, openai("requests", "rate_limit_exceeded"), K.RATE_LIMITED),
        (
            "openai",
            400,
            openai("invalid_request_error", "context_length_exceeded"),
            K.CONTEXT_TOO_LONG,
        ),
        (
            "openai",  # DeepSeek and vLLM say so without a code
            400,
            openai(
                "invalid_request_error",
                None,
                "This model's maximum context length is 65536 tokens.",
            ),
            K.CONTEXT_TOO_LONG,
        ),
        ("openai", 404, openai("invalid_request_error", "model_not_found"), K.NOT_FOUND),
        ("openai", 404, {"error": "model 'llama9' not found, try pulling it first"}, K.NOT_FOUND),
        ("openai", 401, openai("invalid_request_error", "invalid_api_key"), K.AUTH),
        (
            "openai",
            400,
            openai("invalid_request_error", None, "Invalid 'temperature'"),
            K.BAD_REQUEST,
        ),
        ("openai", 502, b"<html><body>502 Bad Gateway</body></html>", K.SERVER_ERROR),
        ("openai", 504, b"", K.SERVER_ERROR),
        ("openai", 408, b"", K.TIMEOUT),
        ("anthropic", 429, anthropic("rate_limit_error"), K.RATE_LIMITED),
        (
            "anthropic",
            429,
            anthropic("rate_limit_error", details={"error_code": "enforced_spend_limit_reached"}),
            K.QUOTA_EXHAUSTED,
        ),
        ("anthropic", 402, anthropic("billing_error"), K.QUOTA_EXHAUSTED),
        (
            "anthropic",
            400,
            anthropic("invalid_request_error", "You have reached your specified API usage limits."),
            K.QUOTA_EXHAUSTED,
        ),
        (
            "anthropic",
            400,
            anthropic(
                "invalid_request_error", "prompt is too long: 208310 tokens > 200000 maximum"
            ),
            K.CONTEXT_TOO_LONG,
        ),
        (
            "anthropic",
            400,
            anthropic(
                "invalid_request_error",
                "input length and `max_tokens` exceed context limit: 188240 + 21333 > 200000",
            ),
            K.CONTEXT_TOO_LONG,
        ),
        ("anthropic", 529, anthropic("overloaded_error", "Overloaded"), K.OVERLOADED),
        ("anthropic", 403, anthropic("permission_error"), K.AUTH),
        ("anthropic", 404, anthropic("not_found_error", "model: claude-9"), K.NOT_FOUND),
        ("anthropic", 413, anthropic("request_too_large"), K.BAD_REQUEST),
        ("anthropic", 500, anthropic("api_error"), K.SERVER_ERROR),
        ("gemini", 400, google(400, "INVALID_ARGUMENT", "API key not valid.", KEY_INVALID), K.AUTH),
        ("gemini", 403, google(403, "PERMISSION_DENIED"), K.AUTH),
        (
            "gemini",
            429,
            google(429, "RESOURCE_EXHAUSTED", "", PER_MINUTE, RETRY_46S),
            K.RATE_LIMITED,
        ),
        (
            "gemini",
            429,
            google(429, "RESOURCE_EXHAUSTED", "", PER_DAY, RETRY_46S),
            K.QUOTA_EXHAUSTED,
        ),
        ("gemini", 429, google(429, "RESOURCE_EXHAUSTED", "", NO_QUOTA), K.QUOTA_EXHAUSTED),
        (
            "gemini",
            429,
            google(429, "RESOURCE_EXHAUSTED", "Quota exceeded for metric: x, limit: 0, model: y"),
            K.QUOTA_EXHAUSTED,
        ),
        ("gemini", 503, google(503, "UNAVAILABLE", "The model is overloaded."), K.OVERLOADED),
        (
            "gemini",
            400,
            google(400, "INVALID_ARGUMENT", "The input token count (1300000) exceeds the maximum"),
            K.CONTEXT_TOO_LONG,
        ),
        ("gemini", 404, google(404, "NOT_FOUND"), K.NOT_FOUND),
        ("gemini", 500, google(500, "INTERNAL"), K.SERVER_ERROR),
        (
            "gemini",
            400,
            google(400, "FAILED_PRECONDITION", "User location is not supported for the API use."),
            K.BAD_REQUEST,
        ),
        ("cohere", 429, {"message": "limited to 20 API calls / minute."}, K.RATE_LIMITED),
        ("cohere", 429, {"message": "limited to 1000 API calls / month."}, K.QUOTA_EXHAUSTED),
        ("cohere", 402, {"message": "Please add or update your payment method"}, K.QUOTA_EXHAUSTED),
        (
            "cohere",
            400,
            {"message": "too many tokens: size limit exceeded by 11326 tokens."},
            K.CONTEXT_TOO_LONG,
        ),
        (
            "cohere",  # a max_tokens too high, not a prompt too long
            400,
            {"message": "too many tokens: max tokens must be less than or equal to 4096"},
            K.BAD_REQUEST,
        ),
        ("cohere", 401, {"message": "invalid api token"}, K.AUTH),
        ("cohere", 503, {"message": "service unavailable"}, K.OVERLOADED),
    ],
)
def test_each_vendors_error_is_classified(style: str, status: int, body: Any, kind: K) -> None:
    error = classify(style, status, body)
    assert (error.kind, error.status) == (kind, status)
    assert error.message.startswith(f"{style} {status}")


def test_a_gemini_rate_limit_waits_its_retry_delay() -> None:
    body = google(429, "RESOURCE_EXHAUSTED", "", PER_MINUTE, RETRY_46S)
    error = classify("gemini", 429, body)
    assert (error.retry_after, error.reset_at) == (46.0, None)


@pytest.mark.parametrize(
    ("now", "midnight"),
    [
        ("2026-03-07T20:00:00+00:00", "2026-03-08T08:00:00+00:00"),  # noon PST
        ("2026-03-08T07:59:59+00:00", "2026-03-08T08:00:00+00:00"),  # a second before
        ("2026-03-08T12:00:00+00:00", "2026-03-09T07:00:00+00:00"),  # after DST began: PDT
    ],
)
def test_a_gemini_daily_quota_resets_at_the_next_pacific_midnight(now: str, midnight: str) -> None:
    body = google(429, "RESOURCE_EXHAUSTED", "", PER_DAY, RETRY_46S)
    error = classify("gemini", 429, body, now=at(now))
    assert error.reset_at == at(midnight)
    assert error.retry_after == at(midnight) - at(now)  # not the 46 s its retryDelay says


@pytest.mark.parametrize(
    ("now", "first"),
    [
        ("2026-03-07T20:00:00+00:00", "2026-04-01T00:00:00+00:00"),
        ("2026-12-31T23:00:00+00:00", "2027-01-01T00:00:00+00:00"),
    ],
)
def test_the_anthropic_spend_cap_resets_on_the_first_of_next_month(now: str, first: str) -> None:
    body = anthropic("rate_limit_error", details={"error_code": "enforced_spend_limit_reached"})
    error = classify("anthropic", 429, body, now=at(now))
    assert (error.code, error.reset_at) == ("enforced_spend_limit_reached", at(first))


def test_the_key_is_taken_out_of_a_vendors_message_that_echoes_it() -> None:
    body = openai(
        "invalid_request_error", "invalid_api_key", "Incorrect API key provided: sk-secret."
    )
    error = classify("openai", 401, body)
    assert "sk-secret" not in error.message
    assert "Incorrect API key provided: ***." in error.message


def test_errors_mid_stream_are_classified_by_what_they_name() -> None:
    overloaded = from_error_event("anthropic", anthropic("overloaded_error"), secret=None)
    limited = from_error_event(
        "gemini", google(429, "RESOURCE_EXHAUSTED", "", RETRY_46S), secret=None
    )
    unknown = from_error_event("openai", {"error": {"message": "boom"}}, secret=None)
    assert (overloaded.kind, overloaded.status) == (K.OVERLOADED, None)
    assert (limited.kind, limited.status, limited.retry_after) == (K.RATE_LIMITED, 429, 46.0)
    assert unknown.kind is K.SERVER_ERROR


REQUEST = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")


@pytest.mark.parametrize(
    ("error", "answering", "kind"),
    [
        (TimeoutError(), False, K.TIMEOUT),
        (httpx.ConnectTimeout("slow", request=REQUEST), False, K.TIMEOUT),
        (httpx.ReadTimeout("slow", request=REQUEST), True, K.TIMEOUT),
        (httpx.ConnectError("refused", request=REQUEST), False, K.CONNECTION),
        (httpx.ReadError("reset", request=REQUEST), True, K.CONNECTION),
        (httpx.RemoteProtocolError("disconnected", request=REQUEST), False, K.CONNECTION),
        (httpx.RemoteProtocolError("incomplete body", request=REQUEST), True, K.MALFORMED),
        (httpx.DecodingError("bad gzip", request=REQUEST), True, K.MALFORMED),
    ],
)
def test_transport_failures_are_classified(error: Exception, answering: bool, kind: K) -> None:
    failure = from_transport("openai", error, secret="sk-secret", answering=answering)
    assert (failure.kind, failure.status) == (kind, None)
