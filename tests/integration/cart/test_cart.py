"""cart's REST API and ClearCart against the real database and broker."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from commerce.contracts.checkout import CartCleared, ClearCart
from tests.conftest import ServiceStack
from tests.integration.helpers import eventually, send, wait_for_event

pytestmark = pytest.mark.integration


def line(sku: str, quantity: int = 1, price: int = 499) -> dict[str, Any]:
    return {
        "sku": sku,
        "product_id": "p-1",
        "name": f"Item {sku}",
        "quantity": quantity,
        "unit_price_cents": price,
    }


async def test_cart_crud_totals_and_versions(stack: ServiceStack) -> None:
    await stack.ensure("cart")
    user = f"u-{uuid.uuid4().hex[:8]}"
    async with stack.client("cart") as http:
        empty = (await http.get(f"/carts/{user}")).json()
        assert empty["lines"] == [] and empty["version"] == 0
        await http.post(f"/carts/{user}/lines", json=line("A", 2))
        added = (await http.post(f"/carts/{user}/lines", json=line("A", 1))).json()
        assert added["lines"][0]["quantity"] == 3 and added["subtotal_cents"] == 3 * 499
        await http.post(f"/carts/{user}/lines", json=line("B", 1, price=1000))
        updated = await http.put(f"/carts/{user}/lines/B", json={"quantity": 4})
        assert updated.json()["item_count"] == 7 and updated.headers["etag"] == '"4"'
        stale = await http.put(
            f"/carts/{user}/lines/B", json={"quantity": 1}, headers={"If-Match": '"1"'}
        )
        assert stale.status_code == 412
        assert (
            await http.put(
                f"/carts/{user}/lines/B", json={"quantity": 1}, headers={"If-Match": '"4"'}
            )
        ).status_code == 200
        assert (await http.delete(f"/carts/{user}/lines/NOPE")).status_code == 404
        assert (
            await http.put(f"/carts/{user}/lines/NOPE", json={"quantity": 1})
        ).status_code == 404
        removed = (await http.delete(f"/carts/{user}/lines/A")).json()
        assert [li["sku"] for li in removed["lines"]] == ["B"]
        assert (await http.delete(f"/carts/{user}")).json()["lines"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"sku": "A", "product_id": "p", "name": "x", "quantity": 0, "unit_price_cents": 1},
        {"sku": "A", "product_id": "p", "name": "x", "quantity": 1, "unit_price_cents": -5},
        {"sku": "A", "product_id": "p", "name": "x", "quantity": "two", "unit_price_cents": 1},
        {
            "sku": "A",
            "product_id": "p",
            "name": "x",
            "quantity": 1,
            "unit_price_cents": 1,
            "admin": True,
        },
        {"product_id": "p", "name": "x", "quantity": 1, "unit_price_cents": 1},
    ],
)
async def test_bad_lines_are_rejected_naming_the_field(
    stack: ServiceStack, body: dict[str, Any]
) -> None:
    await stack.ensure("cart")
    async with stack.client("cart") as http:
        response = await http.post(f"/carts/u-{uuid.uuid4().hex[:8]}/lines", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][0] == "body"


async def test_concurrent_adds_of_one_item_sum(stack: ServiceStack) -> None:
    await stack.ensure("cart")
    user = f"u-{uuid.uuid4().hex[:8]}"
    async with stack.client("cart") as http:
        results = await asyncio.gather(
            *(http.post(f"/carts/{user}/lines", json=line("A", 1)) for _ in range(20))
        )
        assert all(r.status_code == 200 for r in results)
        assert (await http.get(f"/carts/{user}")).json()["lines"][0]["quantity"] == 20


async def test_clear_cart_removes_only_bought_lines_once(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    await stack.ensure("cart")
    user, checkout = f"u-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    async with stack.client("cart") as http:
        for sku in ("A", "B"):
            await http.post(f"/carts/{user}/lines", json=line(sku))
        await send(producer, ClearCart(checkout_id=checkout, user_id=user, skus=["A"]))
        await wait_for_event(infra, checkout, CartCleared)
        await http.post(f"/carts/{user}/lines", json=line("A"))  # added after the checkout
        await send(producer, ClearCart(checkout_id=checkout, user_id=user, skus=["A"]))  # re-sent
        await eventually(
            lambda: wait_for_event(infra, checkout, CartCleared), lambda evs: len(evs) == 2
        )
        skus = sorted(li["sku"] for li in (await http.get(f"/carts/{user}")).json()["lines"])
    assert skus == ["A", "B"]
