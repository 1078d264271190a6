"""A scripted web site on a loopback address, for the crawler's tests and its benchmark.

`Website(routes)` serves each path (with its query) from `routes`, 404 for anything
else, over HTTP/1.1 keep-alive on a thread, and records every request it gets (path,
user agent, arrival time) so a test can prove what was never asked for.

`python -m tests.fakes.website --pages 500` serves `generated(500)` in its own process
(the benchmark's server) and prints its base URL on one line.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    body: str | bytes = ""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    hold: bool = False
    """Answer only when the site is closed (a page that never comes)."""


@dataclass(frozen=True)
class Request:
    path: str
    user_agent: str | None
    at: float


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client that hangs up (a cancelled crawl) is no news here


class Website:
    def __init__(self, routes: Mapping[str, Reply], host: str = "127.0.0.1") -> None:
        self.routes = dict(routes)
        self.requests: list[Request] = []
        self.closing = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out as two writes
            server_version = "nginx/1.18.0"
            sys_version = ""

            def do_GET(self) -> None:
                site.requests.append(
                    Request(self.path, self.headers.get("User-Agent"), time.monotonic())
                )
                reply = site.routes.get(self.path, Reply("not found", status=404))
                if reply.hold:
                    site.closing.wait()
                body = reply.body.encode() if isinstance(reply.body, str) else reply.body
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = _Server((host, 0), Handler)
        self.host = host
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def paths(self) -> list[str]:
        return [r.path for r in self.requests]

    def __enter__(self) -> Website:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.closing.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


def generated(pages: int) -> dict[str, Reply]:
    """`pages` pages linking to each other (each to five others), some with contacts."""
    routes = {"/robots.txt": Reply("User-agent: *\nDisallow: /admin/\n", content_type="text/plain")}
    for i in range(pages):
        links = sorted({(i + 1) % pages, (i * 2) % pages, (i * 7 + 3) % pages, (i + 50) % pages})
        anchors = "".join(f'<li><a href="/page/{j}">page {j}</a></li>' for j in links)
        contact = f"<p>Write to team{i % 13}@example.org</p>" if i % 10 == 0 else ""
        phone = f"<p>Call +1 650-253-{i % 10000:04d}</p>" if i % 7 == 0 else ""
        routes[f"/page/{i}"] = Reply(
            f"<!doctype html><html><head><title>Page {i}</title>"
            '<meta name="generator" content="Hugo 0.121.0"></head><body>'
            f"<h1>Page {i}</h1><ul>{anchors}</ul>{contact}{phone}"
            '<a href="/admin/panel">admin</a><a href="https://example.org/">out</a>'
            f"<p>{'Filler text for a page of realistic size. ' * 40}</p></body></html>"
        )
    routes["/"] = Reply(status=302, headers={"Location": "/page/0"})
    return routes


def main() -> None:  # pragma: no cover - the bench's server
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pages", type=int, default=500)
    args = parser.parse_args()
    with Website(generated(args.pages)) as site:
        print(site.url("/"), flush=True)
        site.thread.join()  # until the benchmark terminates us


if __name__ == "__main__":
    main()
