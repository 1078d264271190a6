"""Which software a page says it runs on: headers, the generator tag, script and style URLs.

The table is small on purpose (SpiderFoot's sfp_webserver and sfp_webframework do the
same with regexes); each match keeps its evidence so a reader can judge it.

- `Server` and `X-Powered-By` headers: every `product/version` token (Apache/2.4.49,
  PHP/7.4.3, nginx).
- `<meta name="generator">`: its content, split into name and version (WordPress 6.1.1).
- Script file names: jQuery, React, Vue.js, AngularJS, Bootstrap; the version from the
  name (jquery-3.6.0.min.js) or from a `@1.2.3` or `/1.2.3/` folder of a CDN path.
- Script and stylesheet paths: WordPress `/wp-content/`, `/wp-includes/`; Drupal
  `/sites/all/`, `/sites/default/`, `/misc/drupal.js`; Joomla `/media/jui/js/`;
  Next.js `/_next/static/`; Nuxt.js `/_nuxt/`; Google Analytics and Tag Manager hosts.
- An `ng-version` attribute: Angular, with its version.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Tech:
    name: str
    version: str | None
    evidence: str


_SCRIPT_NAMES = (
    ("jQuery", re.compile(r"jquery(?:[-.](?P<v>\d+(?:\.\d+)+))?(?:\.slim)?(?:\.min)?\.js", re.I)),
    ("React", re.compile(r"react(?:-dom)?(?:\.production|\.development)?(?:\.min)?\.js", re.I)),
    (
        "Vue.js",
        re.compile(r"vue(?:\.runtime)?(?:\.global|\.esm-browser)?(?:\.prod)?(?:\.min)?\.js", re.I),
    ),
    ("AngularJS", re.compile(r"angular(?:[-.](?P<v>\d+(?:\.\d+)+))?(?:\.min)?\.js", re.I)),
    ("Bootstrap", re.compile(r"bootstrap(?:\.bundle)?(?:\.min)?\.js", re.I)),
)
_PATHS = (
    ("WordPress", re.compile(r"/wp-(?:content|includes)/", re.I)),
    ("Drupal", re.compile(r"/sites/(?:all|default)/|/misc/drupal\.js", re.I)),
    ("Joomla", re.compile(r"/media/(?:jui|system)/js/", re.I)),
    ("Next.js", re.compile(r"/_next/static/")),
    ("Nuxt.js", re.compile(r"/_nuxt/")),
    ("Google Analytics", re.compile(r"(?:google-analytics|googletagmanager)\.com/", re.I)),
)
_PATH_VERSION = re.compile(r"[@/]v?(\d+\.\d+(?:\.\d+)*)/")
_PRODUCT = re.compile(r"(?P<name>[A-Za-z][\w.+-]*)(?:/(?P<v>[\w.+-]+))?")
_COMMENT = re.compile(r"\([^)]*\)")
_GENERATOR = re.compile(r"^(?P<name>.*?)\s+v?(?P<v>\d+(?:\.\d+)*[\w.-]*)$")


def from_headers(headers: Mapping[str, str]) -> list[Tech]:
    found = []
    for header in ("Server", "X-Powered-By"):
        value = headers.get(header)
        if not value:
            continue
        for product in _PRODUCT.finditer(_COMMENT.sub(" ", value)):
            found.append(Tech(product["name"], product["v"], f"{header}: {value}"[:200]))
    return found


def from_generator(content: str) -> Tech | None:
    content = " ".join(content.split())
    if not content:
        return None
    named = _GENERATOR.match(content)
    name, version = (named["name"], named["v"]) if named else (content, None)
    return Tech(name[:100], version, f'meta generator: "{content}"'[:200])


def from_assets(urls: Iterable[str], scripts: frozenset[str]) -> list[Tech]:
    """Script (`scripts`) and stylesheet URLs; file names count for scripts only."""
    found = []
    for url in urls:
        path = urlsplit(url).path
        for name, pattern in _PATHS:
            if pattern.search(url):
                found.append(Tech(name, None, f"asset: {url}"[:200]))
        if url not in scripts:
            continue
        folder, _, file = path.rpartition("/")
        for name, pattern in _SCRIPT_NAMES:
            named = pattern.fullmatch(file)
            if named:
                in_path = _PATH_VERSION.search(folder + "/")
                version = named.groupdict().get("v") or (in_path[1] if in_path else None)
                found.append(Tech(name, version, f"script: {url}"[:200]))
    return found


def from_angular(version: str) -> Tech:
    return Tech("Angular", version or None, f'ng-version="{version}"'[:200])
