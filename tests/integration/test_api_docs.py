"""Each service's `/docs` works without internet: the page names no other host, and the
Swagger UI it loads is served by the service itself, open like `/docs` (no service token)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.conftest import ServiceStack

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("name", ["gateway-bff", "inventory"])
async def test_docs_are_served_whole_by_the_service(stack: ServiceStack, name: str) -> None:
    await stack.ensure(name)
    base = stack.settings.service_url(name)
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:  # no service token
        page = await http.get("/docs")
        assert page.status_code == 200, page.text
        html = page.text
        assert "SwaggerUIBundle" in html
        assert not re.search(r"(src|href)=['\"]?(https?:)?//", html), html  # no CDN, no host
        assets = re.findall(r"(?:src|href)=['\"]([^'\"]+)['\"]", html)
        assert {a.rsplit("/", 1)[1] for a in assets} == {
            "swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png",
        }  # fmt: skip
        for asset in assets:
            answer = await http.get(asset)
            assert answer.status_code == 200 and len(answer.content) > 100, asset
        script = await http.get("/docs/swagger-ui-bundle.js")
        assert script.headers["content-type"].startswith("text/javascript")
        assert (await http.get("/docs/other.js")).status_code in (401, 404)
        assert (await http.get("/openapi.json")).json()["openapi"].startswith("3.1")
        assert (await http.get("/redoc")).status_code in (401, 404)  # it needed a CDN
