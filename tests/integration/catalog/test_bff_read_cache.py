"""The BFF's cache of catalog reads, on the real stack: the catalog's answers as sent,
one catalog call for a burst of the same request, stock changes showing within the
bound, a 503 while the catalog is away."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from commerce.catalog.routes import ProductPublic, ProductsPublic, SkuPublic
from commerce.platform.settings import CatalogCacheSettings, CatalogSettings
from tests.conftest import ServiceStack
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration
READS = ("inventory", "catalog", "gateway-bff")


async def metric(stack: ServiceStack, service: str, name: str, **labels: str) -> float:
    """A counter's value as the service's /metrics shows it (0 before its first count)."""
    async with stack.client(service) as http:
        text = (await http.get("/metrics")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


async def catalog_searches(stack: ServiceStack) -> float:
    return await metric(
        stack, "catalog", "agentshop_http_requests_total", method="GET", route="/products"
    )


async def test_cached_answers_are_the_catalogs_own_bytes(stack: ServiceStack) -> None:
    await stack.ensure(*READS)
    async with stack.client("gateway-bff") as bff, stack.client("catalog") as catalog:
        for path, params in [
            ("/products", {"q": "usb c cable", "limit": "5"}),
            ("/products", {"category": "kitchen", "sort": "price_asc", "offset": "3"}),
            ("/products", {"q": "hoodie", "attr.color": "black"}),
            ("/products/p-cable-usbc", {}),
            ("/products/p-battery-aa", {}),
        ]:
            first = await bff.get(f"/v1{path}", params=params)
            again = await bff.get(f"/v1{path}", params=params)
            direct = await catalog.get(path, params=params)
            assert first.status_code == again.status_code == direct.status_code == 200
            assert first.content == again.content == direct.content, path
            assert first.headers["content-type"] == "application/json"
        # the catalog's answers are its published shapes, field for field and in order
        found = (await bff.get("/v1/products", params={"q": "aa batteries"})).content
        assert ProductsPublic.model_validate_json(found).model_dump_json().encode() == found
        product = (await bff.get("/v1/products/p-cable-usbc")).content
        assert ProductPublic.model_validate_json(product).model_dump_json().encode() == product
        sku = (await catalog.get("/skus/BAT-AA-8")).content
        assert SkuPublic.model_validate_json(sku).model_dump_json().encode() == sku


async def test_we_dont_carry_it_reaches_the_bffs_answer(stack: ServiceStack) -> None:
    await stack.ensure(*READS)
    async with stack.client("gateway-bff") as bff:
        absent = (await bff.get("/v1/products", params={"q": "ice cream"})).json()
        carried = (await bff.get("/v1/products", params={"q": "running shoes"})).json()
    assert absent["match"] == "none" and absent["items"] == [] and absent["total"] == 0
    assert absent["nearest"] and absent["nearest_categories"]
    assert carried["match"] == "matched" and "running shoes" in carried["query_types"]


async def test_the_same_search_in_another_order_is_one_entry(stack: ServiceStack) -> None:
    await stack.ensure(*READS)
    word = f"cable {uuid.uuid4().hex[:8]}"
    before = await catalog_searches(stack)
    async with stack.client("gateway-bff") as bff:
        one = await bff.get(f"/v1/products?q={word}&limit=7&sort=name")
        other = await bff.get(f"/v1/products?sort=name&limit=7&q={word}")
    assert one.status_code == other.status_code == 200 and one.content == other.content
    assert await catalog_searches(stack) - before == 1


async def test_errors_keep_the_bffs_shape(stack: ServiceStack) -> None:
    await stack.ensure(*READS)
    async with stack.client("gateway-bff") as bff:
        for _ in range(2):  # a miss, then the kept 404
            missing = await bff.get("/v1/products/no-such-product")
            assert missing.status_code == 404
            assert missing.json() == {
                "error": {
                    "type": "not_found",
                    "code": "not_found",
                    "message": "product not found",
                    "param": None,
                }
            }
        invalid = await bff.get("/v1/products", params={"sort": "random"})
        assert invalid.status_code == 422 and invalid.json()["error"]["code"] == "rejected"
        inverted = await bff.get(
            "/v1/products", params={"min_price_cents": 500, "max_price_cents": 100}
        )
        assert inverted.status_code == 422
        assert "min_price_cents" in inverted.json()["error"]["message"]


async def test_a_burst_of_the_same_new_search_makes_one_catalog_call(stack: ServiceStack) -> None:
    await stack.ensure(*READS)
    params = {"q": f"usb {uuid.uuid4().hex[:8]}", "limit": "3"}
    searches = await catalog_searches(stack)
    outcomes = {
        o: await metric(
            stack, "gateway-bff", "agentshop_bff_catalog_cache_lookups_total", outcome=o
        )
        for o in ("hit", "miss", "shared")
    }
    async with stack.client("gateway-bff") as bff:
        answers = await asyncio.gather(*(bff.get("/v1/products", params=params) for _ in range(20)))
    assert all(a.status_code == 200 and a.content == answers[0].content for a in answers)
    assert await catalog_searches(stack) - searches == 1
    after = {
        o: await metric(
            stack, "gateway-bff", "agentshop_bff_catalog_cache_lookups_total", outcome=o
        )
        for o in ("hit", "miss", "shared")
    }
    assert after["miss"] - outcomes["miss"] == 1
    assert (after["hit"] + after["shared"]) - (outcomes["hit"] + outcomes["shared"]) == 19


async def test_availability_follows_a_stock_change_within_the_bound(stack: ServiceStack) -> None:
    await stack.ensure(*READS)
    sku, product = "CBL-USBC-1M-WHI", "p-cable-usbc"

    def available(body: dict[str, Any]) -> int:
        return int(next(v["available"] for v in body["variants"] if v["sku"] == sku))

    async with stack.client("gateway-bff") as bff, stack.client("inventory") as inventory:
        shown = available((await bff.get(f"/v1/products/{product}")).json())
        on_hand = (await inventory.get(f"/stock/{sku}")).json()["on_hand"]
        changed = await inventory.put(f"/stock/{sku}", json={"on_hand": on_hand + 7})
        assert changed.status_code == 200, changed.text
        try:
            bound = (
                CatalogSettings().stock_cache_seconds + CatalogCacheSettings().catalog_cache_seconds
            )
            await eventually(
                lambda: _json(bff.get(f"/v1/products/{product}")),
                lambda body: available(body) == shown + 7,
                within=bound + 5,
            )
        finally:
            await inventory.put(f"/stock/{sku}", json={"on_hand": on_hand})


async def test_a_catalog_outage_answers_503_for_what_is_not_kept(stack: ServiceStack) -> None:
    await stack.ensure(*READS)
    await stack.stop("catalog")
    try:
        async with stack.client("gateway-bff") as bff:
            away = await bff.get("/v1/products", params={"q": f"mug {uuid.uuid4().hex[:8]}"})
            assert away.status_code == 503
            assert away.json()["error"]["code"] == "service_unavailable"
            assert "catalog" in away.json()["error"]["message"]
    finally:
        await stack.ensure("catalog")
    async with stack.client("gateway-bff") as bff:  # back: the next ask reaches it again
        assert (await bff.get("/v1/products", params={"q": "mug"})).status_code == 200


async def _json(response: Any) -> Any:
    answer: httpx.Response = await response
    return answer.json()
