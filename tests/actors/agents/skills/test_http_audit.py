"""The HTTP audit against servers this test starts on 127.0.0.1, and the Observatory's
scoring against header sets whose score is worked out by hand from its table."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator

from actors.agents.skills import SKILLS
from actors.agents.skills.vulnerability_scanning.http_audit import audit
from actors.agents.skills.vulnerability_scanning.observatory import grade

from .test_vulnerability_scanning import SCOPES, _quiet

Page = tuple[int, list[tuple[str, str]], bytes]


@contextlib.asynccontextmanager
async def site(
    pages: dict[str, Page], default: Page | None = None, tls: ssl.SSLContext | None = None
) -> AsyncIterator[int]:
    """An HTTP/1.0 server on 127.0.0.1 answering `pages` by path (404 otherwise, or
    `default`: a catch-all). Yields its port; `asked` on the function lists the paths."""
    asked: list[str] = []
    handlers: set[asyncio.Task[None]] = set()

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            request = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            await _close(writer)  # a TLS check that only shook hands
            return
        path = request.split(b" ", 2)[1].decode()
        asked.append(path)
        status, headers, body = pages.get(path) or default or (404, [], b"not found")
        head = [f"HTTP/1.0 {status} X", f"Content-Length: {len(body)}"]
        head += [f"{name}: {value}" for name, value in headers]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
        with contextlib.suppress(ConnectionError, ssl.SSLError):
            await writer.drain()
        await _close(writer)

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=tls)
    site.asked = asked  # type: ignore[attr-defined]
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
        await asyncio.gather(*handlers, return_exceptions=True)  # each ends within 0.5 s


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close, flushing what was written; a TLS peer that never says goodbye is cut off."""
    writer.close()
    try:
        async with asyncio.timeout(0.5):
            await writer.wait_closed()
    except (ConnectionError, ssl.SSLError, TimeoutError):
        writer.transport.abort()


LEAKY: dict[str, Page] = {
    "/": (
        200,
        [
            ("Server", "Apache/2.4.49 (Unix)"),
            ("X-Powered-By", "PHP/7.4.3"),
            ("Set-Cookie", "PHPSESSID=abc; path=/"),
            ("X-Content-Type-Options", "nosniff"),
        ],
        b"<html><body>hello</body></html>",
    ),
    "/.git/HEAD": (200, [], b"ref: refs/heads/main\n"),
    "/.env": (200, [], b"APP_NAME=shop\nDB_PASSWORD=hunter2\n"),
    "/server-status": (404, [], b"nope"),
}


async def test_a_leaky_site_shows_every_planted_fact() -> None:
    async with site(LEAKY) as port:
        result = await audit("127.0.0.1", port, "127.0.0.1", 5.0)

    rules = {f.rule_id for f in result.findings}
    assert {"exposed-git", "exposed-env"} <= rules
    assert "exposed-server-status" not in rules and "directory-listing" not in rules
    assert {"version-disclosed-server", "version-disclosed-x-powered-by"} <= rules
    assert {"CVE-2021-41773", "eol-php"} <= rules  # Apache/2.4.49, PHP/7.4.3 (EOL 2022-11-28)
    assert "eol-apache-http-server" not in rules  # 2.4 is supported
    assert "cookies-session-without-secure-flag" in rules  # -40, the worst cookie result
    assert "csp-not-implemented" in rules and "x-frame-options-not-implemented" in rules
    assert "x-content-type-options-nosniff" not in rules  # no points lost there
    assert result.server == "Apache/2.4.49 (Unix)" and not result.soft_404
    # CSP -25, cookies -40, redirection -20, HSTS -20, XFO -20: 100 - 125 -> 0, F
    assert (result.observatory.score, result.observatory.grade) == (0, "F")


async def test_a_catch_all_server_is_a_soft_404_and_no_path_counts_without_its_marker() -> None:
    page: Page = (200, [], b"<!doctype html><html><body>welcome</body></html>")
    async with site({}, default=page) as port:
        result = await audit("127.0.0.1", port, "127.0.0.1", 5.0)

    assert result.soft_404
    assert not [f for f in result.findings if f.type == "exposed_path"]


async def test_a_directory_listing_and_server_status_are_found_by_their_markers() -> None:
    pages: dict[str, Page] = {
        "/": (200, [], b"<html><head><title>Index of /</title></head></html>"),
        "/server-status": (200, [], b"<h1>Apache Server Status</h1><dt>Server Version: x</dt>"),
    }
    async with site(pages) as port:
        result = await audit("127.0.0.1", port, "127.0.0.1", 5.0)
    rules = {f.rule_id for f in result.findings}
    assert {"directory-listing", "exposed-server-status"} <= rules


async def test_a_deep_scan_audits_the_web_ports_it_finds() -> None:
    async with site(LEAKY) as port:
        result = await SKILLS["vulnerability_scanning"](
            {"target": "127.0.0.1", "ports": [port], "depth": "deep"}, _quiet, SCOPES
        )
    [web] = result["http"]
    assert web["url"] == f"http://127.0.0.1:{port}/"
    assert "exposed-env" in {f["rule_id"] for f in result["findings"]}


def test_a_hardened_https_site_scores_above_100_with_its_bonuses() -> None:
    headers = {
        "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
        "referrer-policy": "no-referrer",
        "x-content-type-options": "nosniff",
        "strict-transport-security": "max-age=31536000",
        "cross-origin-resource-policy": "same-origin",
        "cross-origin-opener-policy": "same-origin",
        "cross-origin-embedder-policy": "require-corp",
    }
    cookies = ["session=1; Secure; HttpOnly; SameSite=Lax"]
    result = grade("https", headers, cookies, None)
    # +10 CSP, +5 cookies, +5 referrer, +5 XFO via CSP, +10 CORP, +10 COOP, +10 COEP
    assert (result.score, result.grade) == (155, "A+")


def test_bonuses_count_only_from_90_up() -> None:
    headers = {
        "content-security-policy": "default-src 'self'",  # +5
        "x-frame-options": "DENY",  # +5
        "x-content-type-options": "nosniff",
        "strict-transport-security": "max-age=300",  # -10: uncurved 90, bonuses count
    }
    assert grade("https", headers, [], None).score == 100
    headers["x-content-type-options"] = "sniff-please"  # -5 more: uncurved 85, no bonuses
    result = grade("https", headers, [], None)
    assert (result.score, result.grade) == (85, "A-")
