"""The crawl's result and the tally that builds it page by page.

`status` says why the lists look the way they do, so that an empty list is never
ambiguous (theHarvester #54): `ok` (the site was crawled within the limits asked for),
`rate-limited` (a 429 stopped the crawl; `rate_limited` has the URL and Retry-After),
`partial` (stopped at max_pages with URLs left, or some pages failed) or `error`
(the start page could not be fetched).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from actors.agents.skills.web_scraping.fingerprints import Tech

PAGES_PER_FACT = 20
"""Pages listed under one e-mail, number or technology (`count` has them all)."""
EXTERNAL_LINKS = 1000
"""External links listed (`external_count` has them all)."""

Status = Literal["ok", "rate-limited", "partial", "error"]


class Page(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    status: int | None
    """HTTP status; None when no response came (see `error`)."""
    depth: int
    title: str | None = None
    content_type: str | None = None
    redirect: str | None = None
    """A redirect's Location, resolved; followed only when it stays on the site."""
    error: str | None = None
    truncated: bool = False
    """The body was longer than the 2 MiB read; what was read was parsed."""


class Email(msgspec.Struct, frozen=True, kw_only=True):
    email: str
    pages: list[str]
    count: int


class Phone(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    """E.164, e.g. +16502530000."""
    pages: list[str]
    count: int


class Technology(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    version: str | None
    evidence: str
    """The first sighting: the header, generator tag or asset URL."""
    pages: list[str]
    count: int


class Links(msgspec.Struct, frozen=True, kw_only=True):
    internal: int
    """Distinct same-site URLs seen (fetched or not)."""
    external: list[str]
    """Distinct links to other sites, never fetched."""
    external_count: int


class Robots(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    fetched: bool
    status: int | None = None
    crawl_delay: float | None = None
    disallowed_skipped: list[str] = []
    note: str | None = None


class RateLimit(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    retry_after: str | None


class Stats(msgspec.Struct, frozen=True, kw_only=True):
    pages_fetched: int
    requests: int
    """Pages plus robots.txt."""
    duration_s: float
    pages_per_s: float


class CrawlResult(msgspec.Struct, frozen=True, kw_only=True):
    target: str
    status: Status
    stopped_reason: str | None
    rate_limited: RateLimit | None
    pages: list[Page]
    emails: list[Email]
    phones: list[Phone]
    links: Links
    technologies: list[Technology]
    robots: Robots
    stats: Stats


class _Sightings:
    """Fact -> the pages it was seen on (the first PAGES_PER_FACT) and how many."""

    def __init__(self) -> None:
        self.pages: dict[str, list[str]] = {}
        self.counts: dict[str, int] = {}

    def add(self, fact: str, page: str) -> None:
        pages = self.pages.setdefault(fact, [])
        if len(pages) < PAGES_PER_FACT:
            pages.append(page)
        self.counts[fact] = self.counts.get(fact, 0) + 1


class Tally:
    def __init__(self) -> None:
        self.pages: list[Page] = []
        self.emails = _Sightings()
        self.phones = _Sightings()
        self.tech = _Sightings()
        self.tech_first: dict[str, Tech] = {}
        self.internal: set[str] = set()
        self.external: dict[str, None] = {}

    def page(self, page: Page) -> None:
        self.pages.append(page)

    def facts(self, url: str, emails: set[str], phones: set[str], technologies: list[Tech]) -> None:
        for email in sorted(emails):
            self.emails.add(email, url)
        for phone in sorted(phones):
            self.phones.add(phone, url)
        keys = set()
        for tech in technologies:
            key = f"{tech.name.lower()}\x00{tech.version or ''}"
            self.tech_first.setdefault(key, tech)
            keys.add(key)
        for key in keys:
            self.tech.add(key, url)

    def link(self, url: str, internal: bool) -> None:
        if internal:
            self.internal.add(url)
        else:
            self.external[url] = None

    def technologies(self) -> list[Technology]:
        return [
            Technology(
                name=tech.name,
                version=tech.version,
                evidence=tech.evidence,
                pages=self.tech.pages[key],
                count=self.tech.counts[key],
            )
            for key, tech in self.tech_first.items()
        ]

    def result(
        self,
        *,
        target: str,
        status: Status,
        stopped_reason: str | None,
        rate_limited: RateLimit | None,
        robots: Robots,
        requests: int,
        duration: float,
    ) -> CrawlResult:
        fetched = sum(1 for p in self.pages if p.status is not None)
        return CrawlResult(
            target=target,
            status=status,
            stopped_reason=stopped_reason,
            rate_limited=rate_limited,
            pages=self.pages,
            emails=[
                Email(email=e, pages=p, count=self.emails.counts[e])
                for e, p in sorted(self.emails.pages.items())
            ],
            phones=[
                Phone(number=n, pages=p, count=self.phones.counts[n])
                for n, p in sorted(self.phones.pages.items())
            ],
            links=Links(
                internal=len(self.internal),
                external=list(self.external)[:EXTERNAL_LINKS],
                external_count=len(self.external),
            ),
            technologies=self.technologies(),
            robots=robots,
            stats=Stats(
                pages_fetched=fetched,
                requests=requests,
                duration_s=round(duration, 3),
                pages_per_s=round(fetched / duration, 1) if duration > 0 else 0.0,
            ),
        )
