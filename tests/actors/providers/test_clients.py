"""Each API style's client against its fake vendor (run once per style): the answer, the
stream, the model list, the key, and every failure classified as the router needs it."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import time
from zoneinfo import ZoneInfo

import httpx
import pytest

from actors.providers.clients import (
    STYLES,
    ChatClient,
    ChatRequest,
    Delta,
    Done,
    Message,
    RateLimits,
    Usage,
    make_client,
)
from actors.providers.errors import FailureKind, ProviderError
from tests.fakes.llm import (
    FakeVendor,
    Reply,
    context_too_long,
    hang,
    malformed,
    not_found,
    ok,
    overloaded,
    quota_exhausted,
    rate_limited,
    server_error,
    slow,
    stream_cut,
    stream_error,
)
from tests.fakes.llm.vendors import FAKES

REQUEST = ChatRequest(
    messages=[
        Message("system", "Answer briefly."),
        Message("user", "Say hello."),
        Message("assistant", "Hello?"),
        Message("user", "Once more."),
    ],
    model="test-model",
)
TEXT = "Hello from the fake vendor."
WORDS = ["Hello ", "from ", "the ", "fake ", "vendor."]
USAGE = Usage(prompt_tokens=12, completion_tokens=5, total_tokens=17)


async def collect(client: ChatClient, timeout: float = 2.0) -> tuple[list[str], Done]:
    deltas: list[str] = []
    done: list[Done] = []
    async for event in client.stream(REQUEST, timeout=timeout):
        match event:
            case Delta(text=text):
                assert not done, "a Delta after the Done"
                deltas.append(text)
            case Done():
                done.append(event)
    assert len(done) == 1
    return deltas, done[0]


async def failure(
    client: ChatClient, *, stream: bool = False, timeout: float = 2.0
) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        if stream:
            await collect(client, timeout)
        else:
            await client.complete(REQUEST, timeout=timeout)
    return caught.value


both_ways = pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])


async def test_complete_returns_the_vendors_text_and_usage(client: ChatClient) -> None:
    result = await client.complete(REQUEST, timeout=2)
    assert (result.content, result.model, result.usage) == (TEXT, "test-model", USAGE)
    assert result.finish_reason == "stop"
    assert result.response_id


async def test_the_result_names_the_model_the_vendor_answered_with(
    fake: FakeVendor, client: ChatClient
) -> None:
    fake.script(ok(model="resolved-model-001"), ok(model="resolved-model-001"))
    answered = (
        "test-model" if fake.style == "cohere" else "resolved-model-001"
    )  # Cohere's names none
    assert (await client.complete(REQUEST, timeout=2)).model == answered
    assert (await collect(client))[1].result.model == answered


async def test_stream_yields_the_text_piece_by_piece_then_done_with_usage(
    client: ChatClient,
) -> None:
    deltas, done = await collect(client)
    assert deltas == WORDS
    assert (done.result.content, done.result.usage, done.result.finish_reason) == (
        TEXT,
        USAGE,
        "stop",
    )


async def test_models_lists_the_vendors_models(fake: FakeVendor, client: ChatClient) -> None:
    assert await client.models(timeout=2) == list(fake.models)


@pytest.mark.parametrize("fake", ["anthropic", "gemini", "cohere"], indirect=True)
async def test_models_follows_the_vendors_pages(fake: FakeVendor, client: ChatClient) -> None:
    fake.page_size = 1
    assert await client.models(timeout=2) == list(fake.models)
    assert fake.count("/models") == len(fake.models)


AUTH_HEADERS = {
    "openai": ("authorization", "Bearer {key}"),
    "anthropic": ("x-api-key", "{key}"),
    "gemini": ("x-goog-api-key", "{key}"),
    "cohere": ("authorization", "Bearer {key}"),
}


async def test_the_key_goes_in_the_vendors_auth_header(
    fake: FakeVendor, client: ChatClient
) -> None:
    await client.complete(REQUEST, timeout=2)
    await collect(client)
    await client.models(timeout=2)
    name, value = AUTH_HEADERS[fake.style]
    assert [r.headers[name] for r in fake.requests] == [value.format(key=fake.key)] * 3


async def test_extra_headers_go_with_every_request(
    fake: FakeVendor, http: httpx.AsyncClient
) -> None:
    client = make_client(fake.style, http, fake.base_url, fake.key, {"x-title": "AMAS"})
    await client.complete(REQUEST, timeout=2)
    await client.models(timeout=2)
    assert [r.headers["x-title"] for r in fake.requests] == ["AMAS", "AMAS"]


WRONG_KEY = "sk-wrong-0123456789-never-print-me"


@both_ways
async def test_a_wrong_key_is_auth_and_never_shows_in_the_error(
    fake: FakeVendor, http: httpx.AsyncClient, stream: bool
) -> None:
    client = make_client(fake.style, http, fake.base_url, WRONG_KEY)
    error = await failure(client, stream=stream)
    # Gemini answers a key it does not know with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
    assert (error.kind, error.status) == (FailureKind.AUTH, 400 if fake.style == "gemini" else 401)
    for shown in (str(error), repr(error), error.message, repr(client)):
        assert WRONG_KEY not in shown


async def test_no_key_is_auth(fake: FakeVendor, http: httpx.AsyncClient) -> None:
    error = await failure(make_client(fake.style, http, fake.base_url, None))
    assert error.kind is FailureKind.AUTH


@pytest.mark.parametrize(
    ("reply", "seconds"),
    [
        (rate_limited(retry_after=2), 2.0),
        (rate_limited(retry_after=None, retry_after_ms=250), 0.25),
        (rate_limited(retry_after=3, retry_after_ms=1500), 1.5),
    ],
    ids=["retry-after", "retry-after-ms", "ms-wins"],
)
@both_ways
async def test_a_rate_limit_says_when_to_retry(
    fake: FakeVendor, client: ChatClient, reply: Reply, seconds: float, stream: bool
) -> None:
    fake.script(reply)
    error = await failure(client, stream=stream)
    assert (error.kind, error.status, error.retry_after) == (FailureKind.RATE_LIMITED, 429, seconds)
    assert not error.started_streaming


@pytest.mark.parametrize("fake", ["openai"], indirect=True)
async def test_without_retry_after_the_exhausted_limits_reset_says_when(
    fake: FakeVendor, client: ChatClient
) -> None:
    fake.script(rate_limited(retry_after=None))
    error = await failure(client)
    assert error.retry_after == 1.0  # x-ratelimit-reset-requests: 1s, remaining 0
    assert error.limits is not None and error.limits.requests_remaining == 0


QUOTAS = [(style, variant) for style, vendor in FAKES.items() for variant in vendor.quota_variants]


@pytest.mark.parametrize(
    ("fake", "variant"), QUOTAS, indirect=["fake"], ids=[f"{s}-{v or 'usual'}" for s, v in QUOTAS]
)
async def test_an_exhausted_quota_is_not_a_rate_limit(
    fake: FakeVendor, client: ChatClient, variant: str
) -> None:
    fake.script(quota_exhausted(variant))
    assert (await failure(client)).kind is FailureKind.QUOTA_EXHAUSTED


@pytest.mark.parametrize("fake", ["gemini"], indirect=True)
async def test_a_gemini_daily_quota_waits_for_pacific_midnight(
    fake: FakeVendor, client: ChatClient
) -> None:
    fake.script(quota_exhausted())  # its retryDelay says 38s, which a daily quota ignores
    error = await failure(client)
    pacific = ZoneInfo("America/Los_Angeles")
    tomorrow = dt.datetime.now(pacific).date() + dt.timedelta(days=1)
    midnight = dt.datetime.combine(tomorrow, dt.time(), pacific).timestamp()
    assert error.reset_at == midnight
    assert error.retry_after == pytest.approx(midnight - time.time(), abs=5)


@pytest.mark.parametrize("fake", ["anthropic"], indirect=True)
async def test_the_anthropic_spend_cap_lasts_until_next_month(
    fake: FakeVendor, client: ChatClient
) -> None:
    fake.script(quota_exhausted())
    error = await failure(client)
    today = dt.datetime.now(dt.UTC)
    first = dt.datetime(today.year + today.month // 12, today.month % 12 + 1, 1, tzinfo=dt.UTC)
    assert (error.status, error.code, error.reset_at) == (
        429,
        "enforced_spend_limit_reached",
        first.timestamp(),
    )


@pytest.mark.parametrize("status", [500, 502])
async def test_a_5xx_is_a_server_error(fake: FakeVendor, client: ChatClient, status: int) -> None:
    fake.script(server_error(status))
    error = await failure(client)
    assert (error.kind, error.status) == (FailureKind.SERVER_ERROR, status)


@both_ways
async def test_an_overloaded_vendor_is_overloaded(
    fake: FakeVendor, client: ChatClient, stream: bool
) -> None:
    fake.script(overloaded())
    error = await failure(client, stream=stream)
    expected = 529 if fake.style == "anthropic" else 503
    assert (error.kind, error.status) == (FailureKind.OVERLOADED, expected)


@both_ways
async def test_a_vendor_that_never_answers_times_out_within_the_timeout(
    fake: FakeVendor, client: ChatClient, stream: bool
) -> None:
    fake.script(hang())
    started = time.monotonic()
    error = await failure(client, stream=stream, timeout=0.1)
    assert error.kind is FailureKind.TIMEOUT
    assert 0.09 < time.monotonic() - started < 0.5


async def test_a_slow_answer_within_the_timeout_arrives(
    fake: FakeVendor, client: ChatClient
) -> None:
    fake.script(slow(0.05, then=ok("Late.")), slow(0.05, then=ok("Late.")))
    assert (await client.complete(REQUEST, timeout=2)).content == "Late."
    assert (await collect(client))[1].result.content == "Late."


async def test_the_shared_clients_own_shorter_timeout_does_not_cut_the_call(
    fake: FakeVendor, tls: ssl.SSLContext
) -> None:
    async with httpx.AsyncClient(timeout=0.01, verify=tls) as http:
        client = make_client(fake.style, http, fake.base_url, fake.key)
        fake.script(slow(0.05))
        assert (await client.complete(REQUEST, timeout=2)).content == TEXT


@both_ways
async def test_a_2xx_we_cannot_read_is_malformed(
    fake: FakeVendor, client: ChatClient, stream: bool
) -> None:
    fake.script(malformed())
    error = await failure(client, stream=stream)
    assert (error.kind, error.started_streaming) == (FailureKind.MALFORMED, False)


@pytest.mark.parametrize("clean", [False, True], ids=["connection-closed", "body-ended"])
async def test_a_stream_cut_before_its_end_is_malformed_after_streaming(
    fake: FakeVendor, client: ChatClient, clean: bool
) -> None:
    fake.script(stream_cut(after=2, clean=clean))
    events = []
    with pytest.raises(ProviderError) as caught:
        async for event in client.stream(REQUEST, timeout=2):
            events.append(event)
    assert events == [Delta("Hello "), Delta("from ")]
    assert (caught.value.kind, caught.value.started_streaming) == (FailureKind.MALFORMED, True)


async def test_a_stream_cut_before_any_text_has_not_started_streaming(
    fake: FakeVendor, client: ChatClient
) -> None:
    fake.script(stream_cut(after=0))
    error = await failure(client, stream=True)
    assert (error.kind, error.started_streaming) == (FailureKind.MALFORMED, False)


async def test_an_answer_cut_short_is_malformed(fake: FakeVendor, client: ChatClient) -> None:
    fake.script(stream_cut())
    assert (await failure(client)).kind is FailureKind.MALFORMED


MID_STREAM_OVERLOAD = {
    "openai": FailureKind.SERVER_ERROR,  # an {"error": ...} chunk of type server_error
    "anthropic": FailureKind.OVERLOADED,  # event: error, overloaded_error
    "gemini": FailureKind.OVERLOADED,  # {"error": {"code": 503, "status": "UNAVAILABLE"}}
    "cohere": FailureKind.SERVER_ERROR,  # message-end with finish_reason ERROR
}


async def test_an_error_event_mid_stream_fails_the_stream_after_streaming(
    fake: FakeVendor, client: ChatClient
) -> None:
    fake.script(stream_error(after=1, error=overloaded()))
    events = []
    with pytest.raises(ProviderError) as caught:
        async for event in client.stream(REQUEST, timeout=2):
            events.append(event)
    assert events == [Delta("Hello ")]
    assert caught.value.kind is MID_STREAM_OVERLOAD[fake.style]
    assert caught.value.started_streaming


async def test_a_prompt_too_long_is_context_too_long(fake: FakeVendor, client: ChatClient) -> None:
    fake.script(context_too_long())
    error = await failure(client)
    assert (error.kind, error.status) == (FailureKind.CONTEXT_TOO_LONG, 400)


async def test_an_unknown_model_is_not_found(fake: FakeVendor, client: ChatClient) -> None:
    fake.script(not_found())
    error = await failure(client)
    assert (error.kind, error.status) == (FailureKind.NOT_FOUND, 404)


@pytest.mark.parametrize("style", STYLES)
@both_ways
async def test_a_vendor_nobody_listens_for_is_a_connection_failure(
    http: httpx.AsyncClient, style: str, stream: bool
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(style, http, f"http://127.0.0.1:{port}", "sk-any")
    assert (await failure(client, stream=stream)).kind is FailureKind.CONNECTION


@pytest.mark.parametrize("fake", ["openai"], indirect=True)
async def test_openai_rate_limit_headers_become_limits(
    fake: FakeVendor, client: ChatClient
) -> None:
    expected = RateLimits(
        requests_limit=10_000,
        requests_remaining=9_999,
        requests_reset_s=0.006,
        tokens_limit=30_000_000,
        tokens_remaining=29_999_980,
        tokens_reset_s=0.0,
    )
    assert (await client.complete(REQUEST, timeout=2)).limits == expected
    assert (await collect(client))[1].result.limits.requests_remaining == 9_998


@pytest.mark.parametrize("fake", ["anthropic"], indirect=True)
async def test_anthropic_rate_limit_headers_become_limits(
    fake: FakeVendor, client: ChatClient
) -> None:
    limits = (await client.complete(REQUEST, timeout=2)).limits
    assert (
        limits.requests_limit,
        limits.requests_remaining,
        limits.tokens_limit,
        limits.tokens_remaining,
    ) == (4_000, 3_999, 400_000, 399_980)
    assert limits.requests_reset_s is not None and 0 <= limits.requests_reset_s <= 1


async def test_an_unknown_style_is_refused(http: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="unknown API style 'soap'"):
        make_client("soap", http, "http://127.0.0.1", None)
