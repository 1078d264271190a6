"""`security_scan` (the seed's example task): the security and osint agents together.

Parts, run at once on their own agents:

* `security` — `vulnerability_scanning` of the target's host at depth deep: open ports
  and banners, TLS on each open port, an HTTP(S) audit of each web port;
* `osint` — `web_scraping` of the target's site: pages, technologies, e-mail addresses
  and phone numbers it publishes;
* `subdomains` (with `include_subdomains`, for a host name) — `data_collection`: DNS
  records and certificate names, from which names under the target's domain are listed.

`target` is a host name, an address or an http(s) URL (then the crawl starts there and
its port is scanned too). Every part's parameters are checked against the scan scope
at submit, by the part's own skill, so a target outside it is refused before any part
exists. merge.py turns the outcomes into the seed's result.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal
from urllib.parse import urlsplit

import msgspec

from actors.agents.scope import Scopes
from actors.agents.skills import data_collection, vulnerability_scanning, web_scraping
from actors.agents.skills.composite import Composite, Part
from actors.agents.skills.security_scan.merge import merge
from actors.agents.skills.vulnerability_scanning.ports import TOP_100, parse_ports
from actors.errors import InvalidParameter

_PART_SKILLS = {
    skill.name: skill
    for skill in (vulnerability_scanning.SKILL, web_scraping.SKILL, data_collection.SKILL)
}


class SecurityScanParams(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    target: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
    """A host name, an address, or an http(s) URL, inside AMAS_SCAN_SCOPE."""
    scan_type: Literal["quick", "comprehensive"] = "quick"
    """quick: the 100 most common TCP ports; comprehensive: 1-65535."""
    ports: list[int | str] | None = None
    """Ports and ranges; given, they replace the scan_type's ports."""
    include_subdomains: bool = False
    max_pages: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 10
    """Pages the osint agent's crawl may fetch."""
    delay: Annotated[float, msgspec.Meta(ge=0, le=60)] = 1.0
    """Seconds between the crawl's requests (robots.txt's Crawl-delay wins if longer)."""


def _where(target: str) -> tuple[str, str, int | None]:
    """(host, the URL to crawl, the URL's explicit port)."""
    if "://" in target:
        url = urlsplit(target)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise InvalidParameter("target", "a URL must be http(s)://host[:port]/...")
        try:
            port = url.port
        except ValueError as e:
            raise InvalidParameter("target", str(e)) from None
        return url.hostname, target, port
    host = target.strip("[]")
    shown = f"[{host}]" if ":" in host else host
    return host, f"http://{shown}/", None


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def plan(params: SecurityScanParams) -> dict[str, Part]:
    host, url, port = _where(params.target)
    ports = params.ports
    if ports is None and port is not None and params.scan_type == "quick":
        top = parse_ports(TOP_100.split(","))
        ports = None if port in top else [*top, port]
    scan: dict[str, object] = {"target": host, "scan_type": params.scan_type, "depth": "deep"}
    if ports is not None:
        scan["ports"] = ports
    parts = {
        "security": Part(task_type="vulnerability_scanning", parameters=scan),
        "osint": Part(
            task_type="web_scraping",
            parameters={"target": url, "max_pages": params.max_pages, "delay": params.delay},
        ),
    }
    if params.include_subdomains and not _is_address(host):
        parts["subdomains"] = Part(task_type="data_collection", parameters={"target": host})
    return parts


def _check_scope(params: SecurityScanParams, scopes: Scopes) -> None:
    for part in plan(params).values():
        _PART_SKILLS[part.task_type].validate(part.parameters, scopes)


COMPOSITE = Composite("security_scan", SecurityScanParams, plan, merge, _check_scope)
