"""The console's page and files as the node serves them, without a browser: open to a
browser that has not signed in, under a strict Content-Security-Policy, plain ES modules
that import only each other, nothing inline, nothing from another host, no HTML built
from strings."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from api.ui.console import STATIC
from api.ui.headers import CONSOLE_POLICY
from tests.api.support import keyless

on_module_loop = pytest.mark.asyncio(loop_scope="module")

FILES = sorted(p for p in STATIC.rglob("*") if p.is_file())
SCRIPTS = [p for p in FILES if p.suffix == ".js"]
CONTENT = {p: p.read_bytes() for p in SCRIPTS}
IMPORT = re.compile(r"""^\s*(?:import|export)\s[^"']*?from\s*["']([^"']+)["']""", re.MULTILINE)
UNSAFE = re.compile(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function")


@pytest.fixture(scope="module")
def api(shared_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return shared_api


def _url(api: httpx.AsyncClient, path: str) -> str:
    return str(api.base_url.copy_with(path=path))


@on_module_loop
async def test_the_page_is_open_and_carries_a_strict_policy(api):
    async with keyless(api) as browser:
        page = await browser.get(_url(api, "/"))

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert policy == CONSOLE_POLICY
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'"  # scripts and styles: files from the node
    assert "unsafe" not in policy and "script-src" not in policy and "style-src" not in policy
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in page.headers


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.urls: list[str] = []
        self._inline = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        self.problems += [f"<{tag} {k}>" for k, _ in attrs if k.startswith("on") or k == "style"]
        self.problems += ["<style>"] if tag == "style" else []
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]
        self._inline = tag == "script" and not named.get("src")

    def handle_data(self, data: str) -> None:
        if self._inline and data.strip():
            self.problems.append(f"inline script: {data.strip()[:60]}")

    def handle_endtag(self, tag: str) -> None:
        self._inline = False


@on_module_loop
async def test_the_page_has_no_inline_code_and_loads_only_files_of_its_own(api):
    async with keyless(api) as browser:
        html = (await browser.get(_url(api, "/"))).text
        page = Page()
        page.feed(html)
        loaded = {
            url: await browser.get(_url(api, url)) for url in page.urls if url.startswith("/")
        }

    assert page.problems == []
    files = [url for url in page.urls if not url.startswith("#")]  # the rest: views' links
    assert files and all(url.startswith("/ui/") for url in files)
    assert {url: r.status_code for url, r in loaded.items()} == dict.fromkeys(files, 200)


@on_module_loop
@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(STATIC)))
async def test_each_module_is_served_as_javascript_with_the_policy(api, path: Path):
    async with keyless(api) as browser:
        served = await browser.get(_url(api, f"/ui/{path.relative_to(STATIC)}"))

    assert served.status_code == 200
    assert served.headers["content-type"].split(";")[0] in (
        "text/javascript",
        "application/javascript",
    )
    assert served.headers["content-security-policy"] == CONSOLE_POLICY
    assert served.content == CONTENT[path]


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(STATIC)))
def test_each_module_imports_files_of_the_console_and_builds_no_html_from_strings(path: Path):
    source = path.read_text()
    imports = IMPORT.findall(source)
    for name in imports:
        assert name.startswith("./") or name.startswith("../"), f"{path.name} imports {name}"
        assert (path.parent / name).resolve().is_file(), f"{path.name} imports {name}: missing"
    assert UNSAFE.findall(source) == []
    assert len(source.splitlines()) <= 400, f"{path.name}: split it"


def test_every_view_is_reachable_from_the_shell():
    main = (STATIC / "js" / "main.js").read_text()
    views = {p.stem for p in (STATIC / "js" / "views").glob("*.js")} - {"taskfold"}
    assert {v for v in views if f'"./views/{v}.js"' not in main} == set()


@on_module_loop
async def test_no_file_is_reachable_outside_the_static_folder(api):
    async with keyless(api) as browser:
        for probe in ("/ui/..%2Fconsole.py", "/ui/%2e%2e/__init__.py"):
            assert (await browser.get(_url(api, probe))).status_code == 404, probe
        assert (await browser.get(_url(api, "/ui/nothing.js"))).status_code == 404
