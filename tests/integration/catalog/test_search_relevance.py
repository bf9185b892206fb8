"""Semantic and hybrid search against the real database: embeddings written at seed,
the "none" verdict through the API, and a relevance floor on a sample of the judged
queries' dev split (evals/search/thresholds.json, like evals/thresholds.json for the
assistant)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import text

from evals.search.judge import THRESHOLDS, load
from evals.search.run import evaluate
from tests.conftest import ServiceStack

pytestmark = pytest.mark.integration


async def search(stack: ServiceStack, **params: Any) -> Any:
    await stack.ensure("inventory", "catalog")
    async with stack.client("catalog") as http:
        response = await http.get("/products", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_every_seeded_product_has_an_embedding(stack: ServiceStack) -> None:
    await stack.ensure("inventory", "catalog")
    async with stack.runtime("catalog").db.sessions() as session:
        missing, total = (
            await session.execute(
                text("SELECT count(*) FILTER (WHERE embedding IS NULL), count(*) FROM products")
            )
        ).one()
    assert total > 0 and missing == 0


async def test_things_the_shop_does_not_carry_are_answered_as_such(stack: ServiceStack) -> None:
    absent = await search(stack, q="grand piano")
    assert absent["match"] == "none"
    assert absent["items"] == [] and absent["total"] == 0
    assert absent["nearest"] and absent["nearest_categories"]
    carried = await search(stack, q="usb c cable")
    assert carried["match"] == "matched" and carried["items"]
    assert len(carried["hits"]) == len(carried["items"])
    assert carried["hits"][0]["product_id"] == carried["items"][0]["product_id"]
    listing = await search(stack, category="kitchen")
    assert listing["match"] is None and listing["hits"] == []


async def test_each_mode_answers(stack: ServiceStack) -> None:
    for mode in ("lexical", "semantic", "hybrid"):
        body = await search(stack, q="usb c cable", mode=mode)
        assert body["items"], mode
    refused = await search_status(stack, q="cable", mode="fuzzy")
    assert refused == 422


async def search_status(stack: ServiceStack, **params: Any) -> int:
    async with stack.client("catalog") as http:
        return int((await http.get("/products", params=params)).status_code)


async def test_relevance_floor_on_a_dev_sample(stack: ServiceStack) -> None:
    await stack.ensure("inventory", "catalog")
    thresholds = json.loads(THRESHOLDS.read_text(encoding="utf-8"))
    dev = [q for q in load() if q.split == "dev"]
    sample = dev[:: thresholds["sample_every"]]
    figures = await evaluate(stack.runtime("catalog").db, sample, ("hybrid",))
    found = figures["hybrid"]["dev"]["all"].as_dict()
    for name, floor in thresholds["minimum"].items():
        assert found[name] >= floor, f"{name}: {found[name]} < {floor} ({found})"
    for name, ceiling in thresholds["maximum"].items():
        assert found[name] <= ceiling, f"{name}: {found[name]} > {ceiling} ({found})"
