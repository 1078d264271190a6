"""/docs (Swagger UI) and /redoc with their scripts and styles served by the node.

FastAPI's own pages load them from a CDN, so on a machine without internet they are
blank. The files come from the `fastapi-offline` package (Swagger UI and ReDoc's
bundles, MIT); the pages are FastAPI's, pointed at them. ReDoc's bundle names one file
of another host (the Redocly logo beside "API docs by Redocly"): it is served with that
address replaced by an empty image.
"""

from __future__ import annotations

import functools
from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from api.ui.headers import WithHeaders, docs_policy, page_headers

DOCS_PATH = "/docs"
OAUTH2_REDIRECT_PATH = "/docs/oauth2-redirect"
REDOC_PATH = "/redoc"
ASSETS_PATH = "/docs/assets"
ASSETS = Path(str(files("fastapi_offline") / "static"))
REDOC_JS = "redoc.standalone.js"
_REDOC_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
_EMPTY_IMAGE = (
    b"data:image/svg+xml,%3Csvg%20xmlns%3D%27http%3A%2F%2Fwww.w3.org%2F2000%2Fsvg%27%2F%3E"
)
_ASSET_HEADERS = page_headers("default-src 'none'")


def install_docs(app: FastAPI, openapi_url: str) -> None:
    """Serve the docs of `app`'s document at `openapi_url` (the app was made with
    docs_url and redoc_url None)."""
    favicon = f"{ASSETS_PATH}/favicon.png"
    pages = {
        DOCS_PATH: get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=favicon,
            oauth2_redirect_url=OAUTH2_REDIRECT_PATH,
            # Swagger UI would send the document to validator.swagger.io for a badge.
            swagger_ui_parameters={"validatorUrl": None},
        ),
        REDOC_PATH: get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=favicon,
            with_google_fonts=False,
        ),
        OAUTH2_REDIRECT_PATH: get_swagger_ui_oauth2_redirect_html(),
    }
    for path, page in pages.items():
        _add_page(app, path, bytes(page.body))
    headers = {name.decode(): value.decode() for name, value in _ASSET_HEADERS}

    async def redoc_js() -> Response:
        return Response(redoc_bundle(), media_type="text/javascript", headers=headers)

    # Before the mount: the first route that matches answers.
    app.add_api_route(f"{ASSETS_PATH}/{REDOC_JS}", redoc_js, include_in_schema=False)
    app.mount(
        ASSETS_PATH, WithHeaders(StaticFiles(directory=ASSETS), _ASSET_HEADERS), name="docs-assets"
    )


@functools.cache
def redoc_bundle() -> bytes:
    """ReDoc's bundle, its one address of another host replaced (read once, ~1 MB)."""
    bundle = (ASSETS / REDOC_JS).read_bytes()
    if _REDOC_LOGO not in bundle:  # another ReDoc: tests/ui/test_docs_offline.py says so
        return bundle
    return bundle.replace(_REDOC_LOGO, _EMPTY_IMAGE)


def _add_page(app: FastAPI, path: str, body: bytes) -> None:
    headers = {name.decode(): value.decode() for name, value in page_headers(docs_policy(body))}

    async def page() -> HTMLResponse:
        return HTMLResponse(body, headers=headers)

    app.add_api_route(path, page, methods=["GET", "HEAD"], include_in_schema=False)
