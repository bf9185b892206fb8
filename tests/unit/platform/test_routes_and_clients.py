"""`add_routes` puts a router's routes into the app's own list: the same API as
`include_router` (paths, prefix, tags, responses), matched once per request."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from commerce.platform.service import NoCookies, add_routes


def _router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["things"], responses={404: {"description": "gone"}})

    @router.get("/things/{thing_id}")
    async def get_thing(thing_id: int) -> dict[str, int]:
        return {"thing_id": thing_id}

    @router.post("/things", status_code=201)
    async def add_thing(name: str) -> dict[str, str]:
        return {"name": name}

    return router


def test_the_api_is_the_one_include_router_describes() -> None:
    included, added = FastAPI(), FastAPI()
    included.include_router(_router())
    add_routes(added, _router())
    assert added.openapi() == included.openapi()


def test_the_routes_are_the_apps_own() -> None:
    app, router = FastAPI(), _router()
    add_routes(app, router)
    own = [r for r in app.router.routes if isinstance(r, APIRoute)]
    assert own == router.routes  # no branch in between: one list, matched once


async def test_requests_reach_the_routes() -> None:
    app = FastAPI()
    add_routes(app, _router())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        assert (await client.get("/v1/things/7")).json() == {"thing_id": 7}
        assert (await client.post("/v1/things", params={"name": "a"})).status_code == 201
        assert (await client.get("/things/7")).status_code == 404


async def test_calls_between_services_keep_no_cookies() -> None:
    """A service's client (`ServiceRuntime.http`) is shared by every request it serves: a
    cookie one answer sets must not go out with the next call, made for someone else."""
    seen: list[str | None] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("cookie"))
        return httpx.Response(200, headers={"set-cookie": "session=alice; Path=/"})

    async with httpx.AsyncClient(
        transport=httpx.MockTransport(answer), cookies=NoCookies(), base_url="http://t"
    ) as client:
        await client.get("/a")
        await client.get("/b")
    assert seen == [None, None]
    assert not client.cookies
