"""What a crawl is asked to do, and the site it is held to.

Defaults are polite, after Scrapy's `startproject` template: robots.txt obeyed, one
request at a time per host, one second between requests, a user agent that names us.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import metadata
from typing import Annotated
from urllib.parse import SplitResult, urlsplit

import msgspec
import phonenumbers

from actors.agents.scope import Scopes
from actors.errors import InvalidParameter


def _version() -> str:
    try:
        return metadata.version("amas")
    except metadata.PackageNotFoundError:
        return "0"


DEFAULT_USER_AGENT = f"AMAS-crawler/{_version()} (+https://github.com/amas)"
_DEFAULT_PORTS = {"http": 80, "https": 443}


class CrawlParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
    """The start URL (http or https); its scheme, host and port are the site."""
    depth: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2
    """Links followed from the start page: 0 fetches the start page only."""
    max_pages: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 100
    delay: Annotated[float, msgspec.Meta(ge=0, le=60)] = 1.0
    """Seconds between two requests to the site (robots.txt Crawl-delay wins if larger)."""
    concurrency: Annotated[int, msgspec.Meta(ge=1, le=16)] = 1
    """Requests in flight to the site at once."""
    timeout: Annotated[float, msgspec.Meta(gt=0, le=120)] = 10.0
    """Seconds a request may take, connect to last byte."""
    user_agent: Annotated[
        str, msgspec.Meta(min_length=1, max_length=256, pattern=r"^[\x20-\x7e]+$")
    ] = DEFAULT_USER_AGENT
    respect_robots: bool = True
    phone_region: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")] = "US"
    """Where numbers written without a country code are assumed to be (ISO 3166 alpha-2)."""


@dataclass(frozen=True)
class Site:
    """scheme://host:port — the only origin a crawl fetches from."""

    scheme: str
    host: str
    port: int

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = _DEFAULT_PORTS[self.scheme] == self.port
        return f"{self.scheme}://{host}" + ("" if default else f":{self.port}")

    def owns(self, url: str) -> bool:
        return site_of(url) == self


def site_of(url: str | SplitResult) -> Site | None:
    """The site of an absolute http(s) URL; None for anything else."""
    try:
        parts = urlsplit(url) if isinstance(url, str) else url
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return Site(scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme])


def start_site(params: CrawlParams) -> Site:
    """The target's site, or InvalidParameter('target')."""
    parts = urlsplit(params.target)
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise InvalidParameter("target", "must be an http:// or https:// URL")
    site = site_of(parts)
    if site is None or parts.username is not None:
        raise InvalidParameter("target", "must be an absolute URL with a host and no credentials")
    return site


def check_params(params: CrawlParams, scopes: Scopes) -> None:
    """Bad parameters are a 400 and a target outside the scan scope a 403, at submit."""
    if params.phone_region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidParameter("phone_region", f"{params.phone_region!r} is not a known region")
    scopes.network.check_host("target", start_site(params).host)
