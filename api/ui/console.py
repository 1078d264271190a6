"""The web console: one page at `/`, its files under `/ui/`.

Plain files, no build step: HTML, CSS and ES modules in `static/`, read by the browser
as they are. The page holds no inline script or style, so its policy allows only files
from the node; the API key lives in the browser's sessionStorage and goes out in the
X-API-Key header of each call (never in a cookie or a URL).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

from api.ui.headers import CONSOLE_POLICY, WithHeaders, page_headers

STATIC = Path(__file__).parent / "static"
CONSOLE_PATH = "/"
FILES_PATH = "/ui"
_HEADERS = page_headers(CONSOLE_POLICY)


def install_console(app: FastAPI) -> None:
    """Serve the console on `app`."""
    headers = {name.decode(): value.decode() for name, value in _HEADERS}

    async def console() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=headers)

    app.add_api_route(CONSOLE_PATH, console, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount(FILES_PATH, WithHeaders(StaticFiles(directory=STATIC), _HEADERS), name="ui")
