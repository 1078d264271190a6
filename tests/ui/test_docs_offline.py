"""/docs and /redoc work without internet: every script, style and image they name is
on the node, answers 200, and their policy allows no other host."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from api.ui.docs import ASSETS_PATH
from tests.api.support import keyless

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


class Links(HTMLParser):
    """Every URL a page makes the browser load or go to, and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.urls += [v for k, v in attrs if k in ("src", "href", "spec-url", "action") and v]
        self._in_script = tag == "script" and "src" not in named

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts += 1

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def same_origin(url: str, page: str) -> bool:
    target, base = urlsplit(urljoin(page, url)), urlsplit(page)
    return (target.scheme, target.netloc) == (base.scheme, base.netloc)


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_a_docs_page_names_only_files_on_the_node_and_each_loads(api, path):
    async with keyless(api) as browser:  # as a browser would: no key
        root = str(api.base_url.copy_with(path="/"))
        page = await browser.get(urljoin(root, path))
        assert page.status_code == 200
        links = Links()
        links.feed(page.text)
        loaded = {url: await browser.get(urljoin(str(page.url), url)) for url in links.urls}

    assert links.urls, "the page loads nothing: not the docs page"
    assert [url for url in links.urls if not same_origin(url, str(page.url))] == []
    assert {url: r.status_code for url, r in loaded.items()} == dict.fromkeys(links.urls, 200)
    scripts = [url for url in links.urls if url.endswith(".js")]
    assert scripts and all(url.startswith(ASSETS_PATH) for url in scripts)
    assert all("javascript" in loaded[url].headers["content-type"] for url in scripts)
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "http" not in policy
    assert policy.count("'sha256-") == links.inline_scripts  # each inline script, by hash


async def test_the_docs_assets_are_served_without_a_key_and_nothing_beside_them(api):
    async with keyless(api) as browser:
        root = str(api.base_url.copy_with(path="/"))
        css = await browser.get(urljoin(root, f"{ASSETS_PATH}/swagger-ui.css"))
        outside = await browser.get(urljoin(root, f"{ASSETS_PATH}/..%2F__init__.py"))
        missing = await browser.get(urljoin(root, f"{ASSETS_PATH}/nothing.js"))

    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert css.headers["x-content-type-options"] == "nosniff"
    assert outside.status_code == 404  # the package's own files stay out of reach
    assert missing.status_code == 404


@pytest.mark.parametrize("name", ["swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"])
async def test_no_asset_names_a_cdn(api, name):
    async with keyless(api) as browser:
        root = str(api.base_url.copy_with(path="/"))
        asset = await browser.get(urljoin(root, f"{ASSETS_PATH}/{name}"))

    assert asset.status_code == 200 and len(asset.content) > 100_000
    assert b"cdn." not in asset.content  # ReDoc's Redocly logo, replaced as it is served
