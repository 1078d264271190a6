"""The SSRF guard: what a webhook URL may name at registration, and what its host may
resolve to at delivery. Resolution goes through injected resolvers, never the system's DNS."""

from __future__ import annotations

import re
import socket
from collections.abc import Sequence

import pytest

from actors.webhooks.guard import (
    NotResolved,
    Refused,
    Target,
    check_url,
    parse_allow,
    resolve,
)
from actors.webhooks.transport import Transport
from tests.fakes.webhook_receiver import WebhookReceiver

LOOPBACK = parse_allow(None)


class Answers:
    """A resolver that answers from a dict and remembers what it was asked."""

    def __init__(self, zone: dict[str, Sequence[str]]) -> None:
        self.zone = zone
        self.asked: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in self.zone:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.zone[host]


def test_the_default_allow_list_is_loopback_only() -> None:
    assert LOOPBACK.allows_address("127.0.0.1") and LOOPBACK.allows_address("127.9.9.9")
    assert LOOPBACK.allows_address("::1") and LOOPBACK.allows_name("localhost")
    assert not LOOPBACK.allows_address("10.0.0.1")
    assert not LOOPBACK.allows_address("169.254.169.254")
    assert not LOOPBACK.allows_name("example.com")


def test_an_ipv4_mapped_entry_in_the_allow_list_means_its_ipv4_range() -> None:
    allow = parse_allow("::ffff:10.0.0.0/104")

    assert allow.allows_address("10.1.2.3") and allow.allows_address("::ffff:10.1.2.3")
    assert not allow.allows_address("11.0.0.1")


def test_a_bad_allow_list_entry_names_the_setting() -> None:
    with pytest.raises(ValueError, match=r"AMAS_WEBHOOK_ALLOW.*'not a host!'"):
        parse_allow("127.0.0.1/32, not a host!")


def test_an_allowed_url_becomes_its_parts() -> None:
    target = check_url("HTTP://LocalHost:8080/hooks/in?x=1&y=2#fragment", LOOPBACK)

    assert target == Target(scheme="http", host="localhost", port=8080, path_qs="/hooks/in?x=1&y=2")
    assert target.authority == "localhost:8080"
    assert check_url("https://127.0.0.1", LOOPBACK).port == 443
    assert check_url("https://127.0.0.1", LOOPBACK).path_qs == "/"
    v6 = check_url("http://[::1]:9/x", LOOPBACK)
    assert (v6.host, v6.authority, v6.url) == ("::1", "[::1]:9", "http://[::1]:9/x")


def test_a_wildcard_name_allows_its_subdomains_only() -> None:
    allow = parse_allow("*.hooks.test")

    assert check_url("https://a.b.hooks.test/x", allow).host == "a.b.hooks.test"
    with pytest.raises(Refused, match="not in AMAS_WEBHOOK_ALLOW"):
        check_url("https://hooks.test.evil.test/x", allow)


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://localhost/x", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "only http and https"),
        ("localhost:8080/hook", "only http and https"),
        ("http:///hook", "no host"),
        ("http://localhost:0/", "port 0"),
        ("http://localhost:99999/", "not a URL"),
        ("http://example.com/hook", "'example.com' is not in AMAS_WEBHOOK_ALLOW"),
        ("http://localhost.example.com/", "not in AMAS_WEBHOOK_ALLOW"),
        ("http://10.0.0.1/", "10.0.0.1 is outside"),
        ("http://169.254.169.254/latest/meta-data/", "outside"),
        ("http://[::ffff:169.254.169.254]/", "169.254.169.254 is outside"),
        ("http://[fe80::1%25eth0]/", "zone index"),
        ("http://2130706433/", "non-standard form"),
        ("http://127.1/", "non-standard form"),
        ("http://0x7f.0.0.1/", "non-standard form"),
        ("http://bücher.test/", "IDNA"),
        ("http://localhost/a b", "printable ASCII"),
    ],
)
def test_a_url_that_is_not_fit_or_not_allowed_is_refused(url: str, why: str) -> None:
    with pytest.raises(Refused, match=re.escape(why)) as refused:
        check_url(url, LOOPBACK)

    assert isinstance(refused.value, PermissionError)
    assert refused.value.url == url


def test_a_password_in_the_url_is_refused_and_not_repeated() -> None:
    with pytest.raises(Refused, match="user name or password") as refused:
        check_url("http://admin:hunter2@localhost/hook", LOOPBACK)

    assert "hunter2" not in str(refused.value) and "hunter2" not in refused.value.url


def test_127_0_0_2_is_outside_a_127_0_0_1_allow_list_in_every_spelling() -> None:
    allow = parse_allow("127.0.0.1/32")

    assert check_url("http://127.0.0.1:8000/", allow).host == "127.0.0.1"
    assert check_url("http://[::ffff:127.0.0.1]:8000/", allow).host == "127.0.0.1"
    for url in ("http://127.0.0.2:8000/", "http://[::ffff:127.0.0.2]:8000/"):
        with pytest.raises(Refused, match=re.escape("127.0.0.2 is outside")):
            check_url(url, allow)


async def test_a_name_is_resolved_once_and_pinned() -> None:
    resolver = Answers({"hooks.test": ["127.0.0.1", "::1"]})
    target = check_url("https://hooks.test/in", parse_allow("127.0.0.0/8,::1,hooks.test"))

    pinned = await resolve(target, parse_allow("127.0.0.0/8,::1,hooks.test"), resolver)

    assert pinned.target == target and pinned.address == "127.0.0.1"
    assert resolver.asked == ["hooks.test"]


async def test_one_address_outside_refuses_the_delivery() -> None:
    allow = parse_allow("127.0.0.0/8,hooks.test")
    resolver = Answers({"hooks.test": ["127.0.0.1", "10.0.0.7"]})

    with pytest.raises(Refused, match=re.escape("resolves to 10.0.0.7")):
        await resolve(check_url("http://hooks.test/", allow), allow, resolver)


async def test_a_mapped_answer_is_checked_and_pinned_as_ipv4() -> None:
    allow = parse_allow("127.0.0.1/32,hooks.test")
    target = check_url("http://hooks.test/", allow)

    pinned = await resolve(target, allow, Answers({"hooks.test": ["::ffff:127.0.0.1"]}))
    assert pinned.address == "127.0.0.1"
    with pytest.raises(Refused, match=re.escape("::ffff:127.0.0.2")):
        await resolve(target, allow, Answers({"hooks.test": ["::ffff:127.0.0.2"]}))


async def test_a_name_removed_from_the_allow_list_is_refused_before_it_is_resolved() -> None:
    target = check_url("http://hooks.test/", parse_allow("127.0.0.0/8,hooks.test"))
    resolver = Answers({"hooks.test": ["127.0.0.1"]})

    with pytest.raises(Refused, match="not in AMAS_WEBHOOK_ALLOW"):
        await resolve(target, LOOPBACK, resolver)
    assert resolver.asked == []


async def test_a_name_that_does_not_resolve_is_not_resolved_rather_than_refused() -> None:
    allow = parse_allow("127.0.0.0/8,hooks.test,empty.test")
    resolver = Answers({"empty.test": []})

    with pytest.raises(NotResolved, match=re.escape("hooks.test")) as failed:
        await resolve(check_url("http://hooks.test/", allow), allow, resolver)
    assert isinstance(failed.value, OSError) and not isinstance(failed.value, PermissionError)
    with pytest.raises(NotResolved, match="no address"):
        await resolve(check_url("http://empty.test/", allow), allow, resolver)


async def test_a_literal_address_is_pinned_without_asking_a_resolver() -> None:
    resolver = Answers({})

    pinned = await resolve(check_url("http://127.0.0.1:9/", LOOPBACK), LOOPBACK, resolver)

    assert pinned.address == "127.0.0.1" and resolver.asked == []


async def test_the_system_resolver_answers_localhost_inside_the_default_list() -> None:
    pinned = await resolve(check_url("http://localhost:9/", LOOPBACK), LOOPBACK)

    assert pinned.address in ("127.0.0.1", "::1")


async def _deliver(url: str, allow_text: str, resolver: Answers) -> None:
    """Registration, then delivery, as the delivery actor chains them."""
    allow = parse_allow(allow_text)
    pinned = await resolve(check_url(url, allow), allow, resolver)
    transport = Transport(timeout=2.0)
    try:
        sent = await transport.post(pinned, {}, b"{}")
        assert sent.ok, sent
    finally:
        await transport.aclose()


async def test_a_listener_outside_the_allow_list_sees_no_connection() -> None:
    zone = {"hooks.test": ["127.0.0.2"]}
    with WebhookReceiver(host="127.0.0.2") as outside:
        port = outside.port
        with pytest.raises(Refused, match=re.escape("127.0.0.2 is outside")):
            await _deliver(outside.url(), "127.0.0.1/32,hooks.test", Answers(zone))
        with pytest.raises(Refused, match=re.escape("resolves to 127.0.0.2")):
            await _deliver(f"http://hooks.test:{port}/", "127.0.0.1/32,hooks.test", Answers(zone))
        assert outside.connections == 0 and outside.requests == []

        # The same deliveries, allowed, do reach it: the zero above is not for want of trying.
        await _deliver(outside.url(), "127.0.0.2/32", Answers(zone))
        await _deliver(f"http://hooks.test:{port}/", "127.0.0.2/32,hooks.test", Answers(zone))
        assert len(outside.requests) == 2
