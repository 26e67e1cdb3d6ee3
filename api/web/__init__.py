"""The web page: a few static files served by the API at ``/`` (locally and on Lambda alike).

``index.html`` at ``/`` and its script and stylesheet under ``/static``. The page talks to the
same API under ``api/v1`` on the same origin, so it needs no CORS and no configuration.

``docs.html`` at ``/docs``: Swagger UI on the app's OpenAPI schema, its files copied from the
pinned npm package into ``static/vendor`` by ``make`` and served from here under the same policy
(no CDN, no inline script).
"""

from __future__ import annotations

import html
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from api.deps import root_of
from core.settings import get_api_settings

WEB = Path(__file__).resolve().parent
INDEX = WEB / "index.html"
DOCS = WEB / "docs.html"

# The page runs only its own script and style and talks only to its own origin (and, on AWS,
# to the WebSocket API's, which is another host).
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'{live}; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
CONTENT_SECURITY_POLICY = _POLICY.format(live="")
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # Revalidate every time (ETag / Last-Modified make that cheap): a deploy shows at once.
    "Cache-Control": "no-cache",
}


def page_headers() -> dict[str, str]:
    """The headers above, the WebSocket API's origin allowed when it is elsewhere."""
    url = urlsplit(get_api_settings().websocket_url)
    live = f" {url.scheme}://{url.netloc}" if url.scheme in ("ws", "wss") and url.netloc else ""
    return {**PAGE_HEADERS, "Content-Security-Policy": _POLICY.format(live=live)}


class Assets(StaticFiles):
    """The page's script and stylesheet, with the page's headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        response.headers.update(page_headers())
        return response


@lru_cache
def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def _page(page: Path, request: Request) -> HTMLResponse:
    """A page whose relative URLs resolve under the app's prefix in the browser (the stage on
    API Gateway, so ``/dev`` and ``/dev/`` both work), through a ``<base>`` element."""
    base = html.escape(root_of(request) + "/", quote=True)
    body = _text(page).replace("<head>", f'<head>\n  <base href="{base}">', 1)
    return HTMLResponse(body, headers=page_headers())


def install(app: FastAPI, *, docs: bool) -> None:
    app.mount("/static", Assets(directory=WEB / "static"), name="static")

    if docs:

        @app.api_route("/docs", methods=["GET", "HEAD"], include_in_schema=False)
        def docs_page(request: Request) -> HTMLResponse:
            return _page(DOCS, request)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def page(request: Request) -> HTMLResponse:
        return _page(INDEX, request)
