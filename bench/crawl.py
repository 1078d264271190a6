"""Benchmark of the osint agent's crawler (`web_scraping`) on a local 500-page site.

`python bench/crawl.py` (from the repo root, in the project's virtualenv) starts the
scripted site of `tests/fakes/website.py` (`generated(500)`: every page links to four
others, some carry an e-mail address or a phone number, robots.txt disallows /admin/) in
a subprocess on 127.0.0.1, so the crawler's CPU is its own. It then runs the skill
itself (the code an agent runs) `--reps` times with delay 0 and `--concurrency` requests
in flight, starting from / (a redirect to /page/0), depth 10, and prints each run's
pages/s, the CPU seconds of this process and of the server, the median pages/s against
the target (>= 100 pages/s) and a check that every page, address and number was found.
Loopback only: the scan scope is 127.0.0.1/32.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `python bench/crawl.py` puts bench/, not the root, first
    sys.path.insert(0, str(ROOT))

from actors.agents.scope import CodeScope, NetworkScope, Scopes  # noqa: E402
from actors.agents.skills import SKILLS  # noqa: E402
from bench import machine  # noqa: E402
from bench.figures import verdict  # noqa: E402

TARGET = 100.0
PAGES = 500


async def _crawl(url: str, concurrency: int) -> dict[str, Any]:
    scopes = Scopes(NetworkScope.parse("127.0.0.1/32"), CodeScope.parse(None, Path.cwd()))

    async def progress(percent: int, message: str) -> None:
        return None

    return await SKILLS["web_scraping"](
        {
            "target": url,
            "delay": 0,
            "concurrency": concurrency,
            "depth": 10,
            "max_pages": PAGES + 10,
        },
        progress,
        scopes,
    )


def _expected() -> tuple[int, int]:
    """Distinct e-mail addresses and phone numbers generated(PAGES) plants."""
    return len({i % 13 for i in range(0, PAGES, 10)}), len(range(0, PAGES, 7))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=3, help="runs (default 3)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    args = parser.parse_args()

    print(f"AMAS crawl benchmark (bench/crawl.py): web_scraping on a local {PAGES}-page site")
    print(
        f"python {sys.version.split()[0]}, nproc {machine.nproc()}, {machine.cpu_model()}; "
        f"{machine.versions('httpx', 'selectolax', 'protego', 'phonenumbers')}; "
        f"concurrency {args.concurrency}, delay 0"
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.website", "--pages", str(PAGES)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    rates: list[float] = []
    failures: list[str] = []
    emails, phones = _expected()
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        print(f"site: {url} (server pid {server.pid}, a subprocess)")
        for rep in range(1, args.reps + 1):
            own, theirs = machine.own_cpu_seconds(), machine.cpu_seconds(server.pid)
            result = asyncio.run(_crawl(url, args.concurrency))
            own = machine.own_cpu_seconds() - own
            theirs = machine.cpu_seconds(server.pid) - theirs
            stats = result["stats"]
            rates.append(stats["pages_per_s"])
            print(
                f"  rep {rep}: {stats['pages_fetched']} pages in {stats['duration_s']:.2f} s"
                f" = {stats['pages_per_s']:.0f} pages/s; CPU crawler {own:.2f} s,"
                f" server {theirs:.2f} s; {len(result['emails'])} e-mails,"
                f" {len(result['phones'])} phones, status {result['status']}"
            )
            found = (stats["pages_fetched"], len(result["emails"]), len(result["phones"]))
            if found != (PAGES + 1, emails, phones) or result["status"] != "ok":
                failures.append(f"rep {rep}: {found}, {result['status']}")
    finally:
        server.terminate()
        server.wait()
    rate = statistics.median(rates)
    print(f"median: {rate:.0f} pages/s  target >= {TARGET:.0f}  {verdict(rate >= TARGET)}")
    print(
        f"every page ({PAGES} + the redirect), {emails} e-mails, {phones} phones, status ok:"
        f" {verdict(not failures)}" + (f" ({'; '.join(failures)})" if failures else "")
    )
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
