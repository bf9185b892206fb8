"""Each service's API reference (`/docs`), served whole by the service itself.

FastAPI's own `/docs` page loads Swagger UI's script and style sheet from a CDN, and
`/redoc` ReDoc's: neither shows anything on a machine without internet. Following
FastAPI's self-hosting recipe, the page is rendered by `get_swagger_ui_html` with assets
read from the `fastapi-swagger` package (it ships Swagger UI 5's distribution, which reads
OpenAPI 3.1) and served next to it, under `/docs/`. ReDoc has no such package, so
`/redoc` is not offered.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

DOCS_PATH = "/docs"
ASSETS = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "favicon-32x32.png": "image/png",
}
ASSET_PATHS = frozenset(f"{DOCS_PATH}/{name}" for name in ASSETS)
"""The assets' paths: as open as `/docs` itself (docs/adr/0022)."""


@cache
def _asset(name: str) -> bytes:
    return (resources.files("fastapi_swagger.resources") / name).read_bytes()


def install(app: FastAPI) -> None:
    """`/docs` and its assets on `app` (made with `docs_url=None, redoc_url=None`)."""

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} - API reference",
            swagger_js_url=f"{DOCS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_PATH}/favicon-32x32.png",
        )

    @app.get(DOCS_PATH + "/{name}", include_in_schema=False)
    async def asset(name: str) -> Response:
        media_type = ASSETS.get(name)
        if media_type is None:
            return Response(status_code=404)
        return Response(
            _asset(name), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
        )
