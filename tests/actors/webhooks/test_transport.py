"""The HTTP transport of deliveries, against the scripted receiver on 127.0.0.1."""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import trustme

from actors.webhooks.guard import Pinned, Target
from actors.webhooks.transport import Transport
from tests.fakes.webhook_receiver import (
    Reply,
    WebhookReceiver,
    fail,
    hang,
    huge,
    redirect,
    slow,
    throttled,
)

BODY = b'{"event":"task.completed"}'
HEADERS = {"webhook-id": "evt_1", "webhook-timestamp": "1767225600", "webhook-signature": "v1,x"}


def pinned(receiver: WebhookReceiver, host: str = "hooks.test", path: str = "/hook") -> Pinned:
    """The receiver's address under a name it does not have: only the pin can reach it."""
    scheme = "https" if receiver.tls else "http"
    target = Target(scheme=scheme, host=host, port=receiver.port, path_qs=path)
    return Pinned(target=target, address=receiver.host)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as receiver:
        yield receiver


@pytest.fixture
async def transport() -> AsyncIterator[Transport]:
    transport = Transport(timeout=2.0)
    yield transport
    await transport.aclose()


async def test_a_post_goes_to_the_pinned_address_with_the_urls_host(
    receiver: WebhookReceiver, transport: Transport
) -> None:
    sent = await transport.post(pinned(receiver, path="/in?tenant=7"), HEADERS, BODY)

    assert sent.ok and sent.status == 200 and sent.error is None and sent.latency_ms > 0
    [request] = receiver.requests
    assert (request.method, request.path, request.body) == ("POST", "/in?tenant=7", BODY)
    assert request.headers["host"] == f"hooks.test:{receiver.port}"
    assert request.headers["content-type"] == "application/json"
    assert {name: request.headers[name] for name in HEADERS} == HEADERS


async def test_connections_are_kept_alive_per_host(
    receiver: WebhookReceiver, transport: Transport
) -> None:
    for _ in range(3):
        assert (await transport.post(pinned(receiver), HEADERS, BODY)).ok
    assert (await transport.post(pinned(receiver, host="other.test"), HEADERS, BODY)).ok

    assert [r.connection for r in receiver.requests] == [1, 1, 1, 2]
    assert receiver.requests[3].headers["host"] == f"other.test:{receiver.port}"


async def test_a_redirect_is_a_status_not_a_second_request(
    receiver: WebhookReceiver, transport: Transport
) -> None:
    receiver.script(redirect(receiver.url("/elsewhere")))

    sent = await transport.post(pinned(receiver), HEADERS, BODY)

    assert sent.status == 302 and not sent.ok and sent.error is None
    assert [r.path for r in receiver.requests] == ["/hook"]


async def test_a_failure_status_comes_back_with_the_start_of_its_body(
    receiver: WebhookReceiver, transport: Transport
) -> None:
    receiver.script(fail(500), Reply(410, b"endpoint removed", chunked=True))

    failed = await transport.post(pinned(receiver), HEADERS, BODY)
    gone = await transport.post(pinned(receiver), HEADERS, BODY)

    assert (failed.status, failed.body_excerpt, failed.ok) == (500, '{"error": "failed"}', False)
    assert (gone.status, gone.body_excerpt, gone.error) == (410, "endpoint removed", None)


async def test_a_body_that_ends_with_the_connection_is_complete(
    receiver: WebhookReceiver, transport: Transport
) -> None:
    receiver.script(Reply(202, b"queued", unframed=True))

    sent = await transport.post(pinned(receiver), HEADERS, BODY)
    again = await transport.post(pinned(receiver), HEADERS, BODY)

    assert (sent.status, sent.body_excerpt, sent.error) == (202, "queued", None)
    assert again.ok and [r.connection for r in receiver.requests] == [1, 2]


async def test_a_hanging_receiver_costs_the_timeout_and_no_more(receiver: WebhookReceiver) -> None:
    receiver.script(hang())
    transport = Transport(timeout=0.2)
    try:
        sent = await transport.post(pinned(receiver), HEADERS, BODY)
        after = await transport.post(pinned(receiver), HEADERS, BODY)
    finally:
        await transport.aclose()

    assert sent.status is None and sent.error == "timed out after 0.2 s" and not sent.ok
    assert 190 <= sent.latency_ms < 800
    assert after.ok and [r.connection for r in receiver.requests] == [1, 2]


async def test_a_slow_receiver_within_the_timeout_is_waited_for(
    receiver: WebhookReceiver, transport: Transport
) -> None:
    receiver.script(slow(0.1))

    sent = await transport.post(pinned(receiver), HEADERS, BODY)

    assert sent.ok and sent.latency_ms >= 100


@pytest.mark.parametrize("body", [huge(16 * 1024 * 1024), huge(None)], ids=["16MiB", "endless"])
async def test_a_huge_answer_is_read_up_to_the_cap_then_dropped(
    receiver: WebhookReceiver, transport: Transport, body: Reply
) -> None:
    receiver.script(body)
    started = time.monotonic()

    sent = await transport.post(pinned(receiver), HEADERS, BODY)
    again = await transport.post(pinned(receiver), HEADERS, BODY)

    assert sent.ok and sent.body_excerpt == "x" * 200
    assert time.monotonic() - started < 1.5  # not the 2 s timeout: it stopped reading
    assert again.ok and [r.connection for r in receiver.requests] == [1, 2]


async def test_retry_after_in_seconds_or_as_a_date(
    receiver: WebhookReceiver, transport: Transport
) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    receiver.script(throttled(30), throttled(soon, status=503), throttled("tomorrow"), fail(500))

    answers = [await transport.post(pinned(receiver), HEADERS, BODY) for _ in range(4)]

    assert [a.status for a in answers] == [429, 503, 429, 500]
    assert answers[0].retry_after == 30.0
    assert answers[1].retry_after is not None and 110 < answers[1].retry_after <= 120
    assert answers[2].retry_after is None and answers[3].retry_after is None


async def test_a_receiver_that_drops_idle_connections_does_not_fail_the_next_post(
    receiver: WebhookReceiver, transport: Transport
) -> None:
    receiver.script(Reply(close=True), Reply(close=True))

    answers = [await transport.post(pinned(receiver), HEADERS, BODY) for _ in range(3)]

    assert all(a.ok for a in answers), answers
    assert [r.connection for r in receiver.requests] == [1, 2, 3]


async def test_nothing_listening_is_an_error_not_an_exception(transport: Transport) -> None:
    with WebhookReceiver() as gone_away:
        target = pinned(gone_away)

    sent = await transport.post(target, HEADERS, BODY)

    assert sent.status is None and not sent.ok
    assert sent.error is not None and "refused" in sent.error.lower()


@pytest.mark.parametrize(
    "headers",
    [{"x-note": "a\r\nx-injected: 1"}, {"host": "elsewhere.test"}, {"bad name": "x"}],
)
async def test_a_header_that_would_change_the_request_is_refused(
    receiver: WebhookReceiver, transport: Transport, headers: dict[str, str]
) -> None:
    with pytest.raises(ValueError, match="may not be sent"):
        await transport.post(pinned(receiver), headers, BODY)
    assert receiver.connections == 0


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_receiver(ca: trustme.CA) -> Iterator[WebhookReceiver]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("hooks.test").configure_cert(context)
    with WebhookReceiver(tls=context) as receiver:
        yield receiver


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_https_sends_the_name_and_verifies_the_certificate_against_it(
    ca: trustme.CA, tls_receiver: WebhookReceiver
) -> None:
    transport = Transport(timeout=2.0, ssl_context=trusting(ca))
    try:
        sent = await transport.post(pinned(tls_receiver), HEADERS, BODY)
        mismatch = await transport.post(pinned(tls_receiver, host="other.test"), HEADERS, BODY)
    finally:
        await transport.aclose()

    assert sent.ok, sent
    assert tls_receiver.requests[0].headers["host"] == f"hooks.test:{tls_receiver.port}"
    assert mismatch.status is None and mismatch.error is not None
    assert mismatch.error.startswith("TLS:") and "other.test" in mismatch.error
    assert len(tls_receiver.requests) == 1


async def test_https_trusts_only_the_systems_cas_by_default(
    tls_receiver: WebhookReceiver, transport: Transport
) -> None:
    sent = await transport.post(pinned(tls_receiver), HEADERS, BODY)

    assert sent.error is not None and sent.error.startswith("TLS:") and not sent.ok
    assert tls_receiver.requests == []
