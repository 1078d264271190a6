"""The crawl: robots.txt first, then the site breadth-first within depth and max_pages.

Only the start URL's site (scheme, host, port) is fetched; links elsewhere are counted as
external and never fetched, and so are redirects that leave the site. A 429 stops the
crawl at once: the URL and its Retry-After go in the result, and nothing more is sent.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from dataclasses import dataclass
from urllib.parse import urldefrag, urljoin

import httpx
import msgspec
from protego import Protego

from actors.agents.scope import Scopes
from actors.agents.skills.base import Progress
from actors.agents.skills.web_scraping import fingerprints
from actors.agents.skills.web_scraping.extract import parse_page
from actors.agents.skills.web_scraping.fetch import Fetched, Fetcher, FetchError, Gate
from actors.agents.skills.web_scraping.params import CrawlParams, Site
from actors.agents.skills.web_scraping.result import (
    EXTERNAL_LINKS,
    CrawlResult,
    Page,
    RateLimit,
    Robots,
    Status,
    Tally,
)
from actors.errors import OutOfScope


@functools.cache
def _tls() -> ssl.SSLContext:
    """Built once: httpx would load certifi's bundle again for every crawl (~50 ms)."""
    return ssl.create_default_context()


MAX_HOPS = 5
"""Redirects followed from one link (RFC 9309 asks at least five for robots.txt)."""


@dataclass(frozen=True)
class _Item:
    url: str
    depth: int
    hops: int = 0


class Crawl:
    def __init__(self, params: CrawlParams, site: Site, scopes: Scopes, progress: Progress):
        self.params = params
        self.site = site
        self.scopes = scopes
        self.progress = progress
        self.tally = Tally()
        self.queue: asyncio.Queue[_Item] = asyncio.Queue()
        self.seen: set[str] = set()
        self.started = 0
        self.not_fetched = 0
        self.failed = 0
        self.rate_limited: RateLimit | None = None
        self.stop = asyncio.Event()
        self.rules: Protego | None = None
        self.disallow_all = False
        self.disallowed: list[str] = []
        self._percent = -1

    async def run(self) -> CrawlResult:
        began = time.monotonic()
        gate = Gate(self.params.concurrency, self.params.delay)
        limits = httpx.Limits(
            max_connections=self.params.concurrency,
            max_keepalive_connections=self.params.concurrency,
        )
        # trust_env=False: a proxy from the environment would carry the crawl past the scope.
        async with httpx.AsyncClient(
            follow_redirects=False, trust_env=False, limits=limits, timeout=None, verify=_tls()
        ) as client:
            fetcher = Fetcher(
                client, self.scopes, gate, self.params.user_agent, self.params.timeout
            )
            await fetcher.address(self.site.host)  # OutOfScope fails the task before a packet
            robots = await self._robots(fetcher)
            if not self.stop.is_set():
                self._offer(urldefrag(self.params.target).url, 0, 0)
                await self._work(fetcher)
        status, reason = self._verdict()
        robots = msgspec.structs.replace(robots, disallowed_skipped=self.disallowed)
        return self.tally.result(
            target=self.params.target,
            status=status,
            stopped_reason=reason,
            rate_limited=self.rate_limited,
            robots=robots,
            requests=fetcher.requests,
            duration=time.monotonic() - began,
        )

    async def _robots(self, fetcher: Fetcher) -> Robots:
        url = f"{self.site.origin}/robots.txt"
        if not self.params.respect_robots:
            return Robots(url=url, fetched=False, note="respect_robots is false")
        target = url
        for _ in range(MAX_HOPS + 1):
            try:
                got = await fetcher.get(target, always_read=True)
            except FetchError as e:
                self.disallow_all = True
                return Robots(
                    url=url,
                    fetched=False,
                    note=f"unreachable ({e}): RFC 9309 says assume every path is disallowed",
                )
            if got.status == 429:
                self._rate_limited(target, got)
                return Robots(url=url, fetched=False, status=429, note="rate-limited")
            location = self._location(target, got)
            if location is None or not self.site.owns(location):
                break
            target = location
        robots = Robots(url=url, fetched=False, status=got.status)
        if 200 <= got.status < 300:
            self.rules = Protego.parse(got.text())
            crawl_delay = self.rules.crawl_delay(self.params.user_agent)
            if crawl_delay is not None and crawl_delay > fetcher.gate.delay:
                fetcher.gate.delay = crawl_delay
            return Robots(url=url, fetched=True, status=got.status, crawl_delay=crawl_delay)
        if got.status >= 500:
            self.disallow_all = True
            note = "server error: RFC 9309 says assume every path is disallowed"
        else:
            note = "unavailable: every path is allowed"
        return Robots(url=robots.url, fetched=False, status=robots.status, note=note)

    def _allowed(self, url: str) -> bool:
        if self.disallow_all:
            return False
        return self.rules is None or self.rules.can_fetch(url, self.params.user_agent)

    def _offer(self, url: str, depth: int, hops: int) -> None:
        if url in self.seen:
            return
        self.seen.add(url)
        if not self._allowed(url):
            if len(self.disallowed) < EXTERNAL_LINKS:
                self.disallowed.append(url)
            return
        self.queue.put_nowait(_Item(url, depth, hops))

    async def _work(self, fetcher: Fetcher) -> None:
        workers = [
            asyncio.create_task(self._worker(fetcher)) for _ in range(self.params.concurrency)
        ]
        waits = [asyncio.create_task(self.queue.join()), asyncio.create_task(self.stop.wait())]
        try:
            await asyncio.wait([*waits, *workers], return_when=asyncio.FIRST_COMPLETED)
        finally:  # also when cancelled: no request outlives the crawl
            for task in (*workers, *waits):
                task.cancel()
            await asyncio.gather(*workers, *waits, return_exceptions=True)
        for worker in workers:
            if not worker.cancelled() and worker.exception() is not None:
                raise worker.exception()  # type: ignore[misc]

    async def _worker(self, fetcher: Fetcher) -> None:
        while True:
            item = await self.queue.get()
            try:
                if self.stop.is_set() or self.started >= self.params.max_pages:
                    self.not_fetched += 1
                    continue
                self.started += 1
                await self._visit(fetcher, item)
            finally:
                self.queue.task_done()

    async def _visit(self, fetcher: Fetcher, item: _Item) -> None:
        try:
            got = await fetcher.get(item.url)
        except FetchError as e:
            self.failed += 1
            self.tally.page(Page(url=item.url, status=None, depth=item.depth, error=str(e)))
            return
        if got.status == 429:
            self.tally.page(
                Page(url=item.url, status=429, depth=item.depth, content_type=got.content_type)
            )
            self._rate_limited(item.url, got)
            return
        technologies = fingerprints.from_headers(got.headers)
        title, emails, phones = None, set[str](), set[str]()
        if got.body is not None:
            facts = parse_page(got.text(), item.url, self.params.phone_region)
            title, emails, phones = facts.title, facts.emails, facts.phones
            technologies += facts.technologies
            for link in facts.links:
                internal = self.site.owns(link)
                self.tally.link(link, internal)
                if internal and item.depth < self.params.depth:
                    self._offer(link, item.depth + 1, 0)
        location = self._location(item.url, got)
        self.tally.page(
            Page(
                url=item.url,
                status=got.status,
                title=title,
                depth=item.depth,
                content_type=got.content_type,
                redirect=location,
                error=self._redirect(item, location),
                truncated=got.truncated,
            )
        )
        self.tally.facts(item.url, emails, phones, technologies)
        await self._report()

    def _redirect(self, item: _Item, location: str | None) -> str | None:
        """Follows a redirect on the site; otherwise says why not (None: nothing to say)."""
        if location is None:
            return None
        if not self.site.owns(location):
            self.tally.link(location, False)
            host = httpx.URL(location).host
            try:
                self.scopes.network.check_host("target", host)
            except OutOfScope as e:
                return f"redirect not followed: {host} is outside the scan scope ({e.reason})"
            return "redirect not followed: it leaves the site"
        if item.hops >= MAX_HOPS:
            return f"redirect not followed: more than {MAX_HOPS} in a row"
        self.tally.link(location, True)
        self._offer(location, item.depth, item.hops + 1)
        return None

    @staticmethod
    def _location(url: str, got: Fetched) -> str | None:
        if got.location is None:
            return None
        location = urldefrag(urljoin(url, got.location.strip())).url
        return location if location.startswith(("http://", "https://")) else None

    def _rate_limited(self, url: str, got: Fetched) -> None:
        self.rate_limited = RateLimit(url=url, retry_after=got.headers.get("Retry-After"))
        self.stop.set()

    async def _report(self) -> None:
        done = len(self.tally.pages)
        percent = min(99, done * 100 // self.params.max_pages)
        if percent != self._percent:
            self._percent = percent
            await self.progress(percent, f"{done} of at most {self.params.max_pages} pages")

    def _verdict(self) -> tuple[Status, str | None]:
        pages = self.tally.pages
        if self.rate_limited is not None:
            left = self.queue.qsize() + self.not_fetched
            retry = self.rate_limited.retry_after
            return "rate-limited", (
                f"rate-limited: 429 Too Many Requests at {self.rate_limited.url}"
                f" (Retry-After: {retry or 'not given'}); crawling stopped"
                f" after {len(pages)} pages, {left} queued URLs not fetched"
            )
        if pages and pages[0].depth == 0 and pages[0].status is None:
            return "error", f"the start page could not be fetched: {pages[0].error}"
        if self.disallow_all:
            return "partial", "robots.txt could not be read, so no path may be fetched (RFC 9309)"
        if not pages and self.disallowed:
            return "partial", "robots.txt disallows the start URL for this user agent"
        if self.not_fetched:
            return "partial", (
                f"max_pages ({self.params.max_pages}) reached;"
                f" {self.not_fetched} more URLs found but not fetched"
            )
        if self.failed:
            return "partial", f"{self.failed} of {len(pages)} pages could not be fetched"
        return "ok", None
