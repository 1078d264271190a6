"""The osint agent's crawler, against sites this test serves on 127.0.0.1.

127.0.0.2 plays the world outside the scan scope: a listener there must never see a
connection, whatever the pages link or redirect to.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from actors.agents.scope import CodeScope, NetworkScope, Scopes
from actors.agents.skills import SKILLS
from actors.agents.skills.web_scraping.extract import parse_page
from actors.agents.skills.web_scraping.fetch import MAX_BODY
from actors.agents.skills.web_scraping.fingerprints import from_headers
from actors.agents.skills.web_scraping.params import DEFAULT_USER_AGENT
from actors.errors import InvalidParameter, OutOfScope
from tests.fakes.website import Reply, Website

SCOPES = Scopes(NetworkScope.parse("127.0.0.1/32,localhost"), CodeScope.parse(None, Path.cwd()))
CRAWL = SKILLS["web_scraping"]
FAST = {"delay": 0, "timeout": 5}


async def _quiet(percent: int, message: str) -> None:
    return None


@contextlib.contextmanager
def outside() -> Iterator[tuple[str, socket.socket]]:
    """A listener on 127.0.0.2 (outside SCOPES): its base URL, and the socket to ask."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.2", 0))
    except OSError:
        sock.close()
        pytest.skip("127.0.0.2 is not a local address here")
    sock.listen(16)
    sock.setblocking(False)
    try:
        yield f"http://127.0.0.2:{sock.getsockname()[1]}", sock
    finally:
        sock.close()


def assert_no_connection(sock: socket.socket) -> None:
    with pytest.raises(BlockingIOError):
        sock.accept()


def html(title: str, body: str, head: str = "") -> str:
    return f"<!doctype html><html><head><title>{title}</title>{head}</head><body>{body}</body>"


def company_site(away: str) -> dict[str, Reply]:
    return {
        "/robots.txt": Reply(
            "User-agent: *\nDisallow: /\n\nUser-agent: AMAS-crawler\nDisallow: /private\n",
            content_type="text/plain",
        ),
        "/": Reply(
            html(
                "Acme Home",
                '<a href="/about#team">About</a> <a href="/contact">Contact</a>'
                ' <a href="/private/secret">secret</a> <a href="/brochure.pdf">pdf</a>'
                f' <a href="{away}/partner">partner</a> <a href="/moved">moved</a>'
                f' <a href="/away">away</a>'
                "<p>Sales: Sales@Acme.example, +1 650-253-0000</p>"
                '<script src="/static/jquery-3.6.0.min.js"></script>',
                '<meta name="generator" content="WordPress 6.4.2">',
            ),
            headers={"X-Powered-By": "PHP/8.2.1"},
        ),
        "/about": Reply(html("About Acme", "<p>Call (202) 555-0143.</p><a href='/'>home</a>")),
        "/contact": Reply(
            html(
                "Contact",
                '<a href="mailto:press@acme.example?subject=Hi">press</a>'
                '<a href="tel:+44 20 7946 0958">London</a>',
            )
        ),
        "/brochure.pdf": Reply(b"%PDF-1.4 pdf@acme.example", content_type="application/pdf"),
        "/moved": Reply(status=301, headers={"Location": "/new-home"}),
        "/new-home": Reply(html("New home", "<p>moved here</p>")),
        "/away": Reply(status=302, headers={"Location": f"{away}/landing"}),
    }


async def test_a_crawl_collects_titles_links_contacts_and_technologies() -> None:
    progress: list[int] = []

    async def record(percent: int, message: str) -> None:
        progress.append(percent)

    with outside() as (away, listener), Website(company_site(away)) as site:
        result = await CRAWL({"target": site.url("/"), **FAST}, record, SCOPES)
        assert_no_connection(listener)

    pages = {p["url"].removeprefix(site.url("")): p for p in result["pages"]}
    assert result["status"] == "ok" and result["stopped_reason"] is None
    assert pages["/"]["title"] == "Acme Home" and pages["/"]["depth"] == 0
    assert pages["/about"]["title"] == "About Acme" and pages["/about"]["depth"] == 1
    assert pages["/brochure.pdf"]["content_type"] == "application/pdf"
    assert pages["/brochure.pdf"]["title"] is None
    assert pages["/moved"]["status"] == 301 and pages["/new-home"]["status"] == 200
    assert pages["/away"]["redirect"] == f"{away}/landing"
    assert "outside the scan scope" in pages["/away"]["error"]
    assert set(pages) == {
        *("/", "/about", "/contact", "/brochure.pdf", "/moved", "/new-home", "/away")
    }

    assert {e["email"]: e["pages"] for e in result["emails"]} == {
        "press@acme.example": [site.url("/contact")],
        "sales@acme.example": [site.url("/")],
    }
    phones = [p["number"] for p in result["phones"]]
    assert phones == ["+12025550143", "+16502530000", "+442079460958"]
    techs = {(t["name"], t["version"]) for t in result["technologies"]}
    assert {
        *(("WordPress", "6.4.2"), ("jQuery", "3.6.0"), ("PHP", "8.2.1"), ("nginx", "1.18.0"))
    } <= techs
    assert set(result["links"]["external"]) == {f"{away}/partner", f"{away}/landing"}

    assert result["robots"]["fetched"] is True
    assert result["robots"]["disallowed_skipped"] == [site.url("/private/secret")]
    assert "/private/secret" not in site.paths and site.paths[0] == "/robots.txt"
    assert {r.user_agent for r in site.requests} == {DEFAULT_USER_AGENT}
    assert result["stats"]["pages_fetched"] == 7 and result["stats"]["requests"] == 8
    assert progress[-1] == 100 and progress == sorted(progress)


async def test_a_429_stops_the_crawl_and_says_rate_limited() -> None:
    routes = {
        "/": Reply(html("Home", '<a href="/a">a</a><a href="/b">b</a><a href="/c">c</a>')),
        "/a": Reply("slow down", status=429, headers={"Retry-After": "120"}),
        "/b": Reply(html("B", "")),
        "/c": Reply(html("C", "")),
    }
    with Website(routes) as site:
        result = await CRAWL({"target": site.url("/"), **FAST}, _quiet, SCOPES)
    assert result["status"] == "rate-limited"
    assert result["rate_limited"] == {"url": site.url("/a"), "retry_after": "120"}
    assert "rate-limited" in result["stopped_reason"] and "120" in result["stopped_reason"]
    assert site.paths == ["/robots.txt", "/", "/a"]


@pytest.mark.parametrize(("depth", "fetched"), [(0, 1), (2, 3)])
async def test_depth_limits_how_far_links_are_followed(depth: int, fetched: int) -> None:
    routes = {f"/p{i}": Reply(html(f"P{i}", f'<a href="/p{i + 1}">next</a>')) for i in range(10)}
    with Website(routes) as site:
        result = await CRAWL({"target": site.url("/p0"), "depth": depth, **FAST}, _quiet, SCOPES)
    assert [p["url"] for p in result["pages"]] == [site.url(f"/p{i}") for i in range(fetched)]
    assert site.paths == ["/robots.txt", *(f"/p{i}" for i in range(fetched))]
    assert result["status"] == "ok"


async def test_max_pages_limits_the_fetches_and_says_partial() -> None:
    links = "".join(f'<a href="/n{i}">{i}</a>' for i in range(20))
    routes = {f"/n{i}": Reply(html(str(i), "")) for i in range(20)}
    routes["/"] = Reply(html("Hub", links))
    with Website(routes) as site:
        result = await CRAWL(
            {"target": site.url("/"), "max_pages": 5, "concurrency": 4, **FAST}, _quiet, SCOPES
        )
    assert len(result["pages"]) == 5 and len(site.paths) == 1 + 5
    assert result["status"] == "partial"
    assert "max_pages (5)" in result["stopped_reason"]
    assert result["links"]["internal"] == 20


async def test_requests_to_the_site_are_spaced_by_the_delay() -> None:
    routes = {"/": Reply(html("Hub", '<a href="/a">a</a><a href="/b">b</a>'))}
    with Website(routes) as site:
        await CRAWL({"target": site.url("/"), "delay": 0.2, "concurrency": 4}, _quiet, SCOPES)
    times = [r.at for r in site.requests]
    assert len(times) == 4
    assert all(b - a >= 0.15 for a, b in itertools.pairwise(times))


async def test_a_crawl_delay_in_robots_txt_wins_over_a_shorter_delay() -> None:
    routes = {
        "/robots.txt": Reply("User-agent: *\nCrawl-delay: 0.2\n", content_type="text/plain"),
        "/": Reply(html("Hub", '<a href="/a">a</a>')),
    }
    with Website(routes) as site:
        result = await CRAWL({"target": site.url("/"), **FAST}, _quiet, SCOPES)
    assert result["robots"]["crawl_delay"] == 0.2
    times = [r.at for r in site.requests]
    assert all(b - a >= 0.15 for a, b in itertools.pairwise(times))


async def test_an_unreachable_robots_txt_disallows_everything() -> None:
    routes = {"/robots.txt": Reply("down", status=503), "/": Reply(html("Home", ""))}
    with Website(routes) as site:
        result = await CRAWL({"target": site.url("/"), **FAST}, _quiet, SCOPES)
    assert site.paths == ["/robots.txt"]
    assert result["status"] == "partial" and "RFC 9309" in result["stopped_reason"]


async def test_robots_txt_is_not_asked_for_when_told_not_to_respect_it() -> None:
    routes = {"/robots.txt": Reply("User-agent: *\nDisallow: /\n"), "/": Reply(html("Home", ""))}
    with Website(routes) as site:
        result = await CRAWL(
            {"target": site.url("/"), "respect_robots": False, **FAST}, _quiet, SCOPES
        )
    assert site.paths == ["/"] and result["pages"][0]["title"] == "Home"


async def test_a_start_page_that_cannot_be_fetched_is_an_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result = await CRAWL(
        {"target": f"http://127.0.0.1:{port}/", "respect_robots": False, **FAST}, _quiet, SCOPES
    )
    assert result["status"] == "error"
    assert result["stopped_reason"].startswith("the start page could not be fetched")


async def test_a_long_body_is_read_up_to_the_limit_and_marked_truncated() -> None:
    page = html("Big", "<p>" + "x" * (MAX_BODY + 1000) + "</p>")
    with Website({"/": Reply(page)}) as site:
        result = await CRAWL({"target": site.url("/"), **FAST}, _quiet, SCOPES)
    assert result["pages"][0]["truncated"] is True and result["pages"][0]["title"] == "Big"


async def test_cancelling_the_crawl_stops_every_request_at_once(eventually: Any) -> None:
    routes = {
        "/": Reply(html("Hub", "".join(f'<a href="/slow{i}">s</a>' for i in range(4)))),
        **{f"/slow{i}": Reply(html("Slow", ""), hold=True) for i in range(4)},
    }
    with Website(routes) as site:
        before = asyncio.all_tasks()
        crawl = asyncio.create_task(
            CRAWL({"target": site.url("/"), "concurrency": 4, **FAST}, _quiet, SCOPES)
        )
        await eventually(lambda: len(site.paths) == 6, "robots.txt, / and four slow pages")
        crawl.cancel()
        async with asyncio.timeout(1):
            with pytest.raises(asyncio.CancelledError):
                await crawl
        await asyncio.sleep(0.05)
        assert asyncio.all_tasks() - before == set()
        assert len(site.paths) == 6


def test_a_page_yields_links_emails_phones_and_technologies() -> None:
    facts = parse_page(
        html(
            "  Two\n words ",
            '<a href="b#frag">b</a><a href="b">again</a><a href="javascript:x()">js</a>'
            '<a href="mailto:A@Example.ORG,b@example.org">m</a><img src="logo@2x.png">'
            "<p>logo@2x.png, +33 1 42 68 53 00</p><script>var x = 'hidden@example.org'</script>"
            '<script src="https://unpkg.com/react@18.2.0/umd/react.production.min.js"></script>'
            '<link rel="stylesheet" href="/wp-content/themes/x/style.css">',
        ),
        "http://127.0.0.1/a/",
        "US",
    )
    assert facts.title == "Two words"
    assert facts.links == ["http://127.0.0.1/a/b"]
    assert facts.emails == {"a@example.org", "b@example.org"}
    assert facts.phones == {"+33142685300"}
    assert {(t.name, t.version) for t in facts.technologies} == {
        ("React", "18.2.0"),
        ("WordPress", None),
    }


def test_server_headers_name_each_product_and_version() -> None:
    techs = from_headers(
        {"Server": "Apache/2.4.49 (Unix) OpenSSL/1.1.1k", "X-Powered-By": "Express"}
    )
    assert [(t.name, t.version) for t in techs] == [
        ("Apache", "2.4.49"),
        ("OpenSSL", "1.1.1k"),
        ("Express", None),
    ]


@pytest.mark.parametrize(
    ("parameters", "name"),
    [
        ({}, "target"),
        ({"target": "ftp://127.0.0.1/"}, "target"),
        ({"target": "127.0.0.1"}, "target"),
        ({"target": "http://user:pw@127.0.0.1/"}, "target"),
        ({"target": "http://127.0.0.1/", "depth": 11}, "depth"),
        ({"target": "http://127.0.0.1/", "max_pages": 0}, "max_pages"),
        ({"target": "http://127.0.0.1/", "delay": -1}, "delay"),
        ({"target": "http://127.0.0.1/", "concurrency": 17}, "concurrency"),
        ({"target": "http://127.0.0.1/", "user_agent": "a\r\nX-Evil: 1"}, "user_agent"),
        ({"target": "http://127.0.0.1/", "phone_region": "XX"}, "phone_region"),
        ({"target": "http://127.0.0.1/", "colour": "red"}, "colour"),
    ],
)
def test_bad_parameters_name_the_parameter(parameters: dict[str, Any], name: str) -> None:
    with pytest.raises(InvalidParameter) as refused:
        CRAWL.validate(parameters, SCOPES)
    assert refused.value.name == name


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.2/", "https://example.com/", "http://10.0.0.1:8080/", "http://[::1]/"],
)
def test_a_target_outside_the_scope_is_refused_before_any_packet(target: str) -> None:
    with pytest.raises(OutOfScope) as refused:
        CRAWL.validate({"target": target}, SCOPES)
    assert refused.value.name == "target"
