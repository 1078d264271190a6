"""`web_scraping`: a polite same-site crawler for the osint agent.

From a start URL it fetches pages of the same site (scheme, host and port) breadth-first,
within `depth` links and `max_pages` pages, obeying robots.txt (protego: wildcards,
longest match, Crawl-delay) with a user agent that names AMAS, `concurrency` requests at
once and `delay` seconds apart; it stops at the first 429 and says so. From each HTML
page it takes the title, links, e-mail addresses, phone numbers (E.164) and the
technologies the headers, generator tag and scripts give away.

Every URL is checked against the scan scope before it is fetched: the target at submit
(403 outside), then its resolved addresses before the first packet; links and redirects
to other sites are recorded, never fetched.

    params.py        CrawlParams, the site, the submit-time checks
    fetch.py         one scope-checked, paced, size-bounded GET
    crawler.py       robots.txt, the frontier, redirects, 429, the verdict
    extract.py       title, links, e-mails, phones from one HTML page
    fingerprints.py  the technology table
    result.py        the result Structs and the tally
"""

from __future__ import annotations

from typing import Any

import msgspec

from actors.agents.skills.base import Context, Progress, Skill
from actors.agents.skills.web_scraping.crawler import Crawl
from actors.agents.skills.web_scraping.params import CrawlParams, check_params, start_site


async def crawl(params: CrawlParams, progress: Progress, context: Context) -> dict[str, Any]:
    result = await Crawl(params, start_site(params), context.scopes, progress).run()
    await progress(100, f"{result.stats.pages_fetched} pages, {result.status}")
    return msgspec.to_builtins(result)  # type: ignore[no-any-return]


SKILL = Skill("web_scraping", CrawlParams, crawl, check_params)

__all__ = ["SKILL", "CrawlParams"]
