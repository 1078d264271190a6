"""What a person opens in a browser: the web console at `/` and the API docs at `/docs`
and `/redoc`, every file served by the node itself (no CDN), each page with a
Content-Security-Policy."""

from api.ui.console import install_console
from api.ui.docs import install_docs

__all__ = ["install_console", "install_docs"]
