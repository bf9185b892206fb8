"""cart's REST API and ClearCart against the real database and broker."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import text

from commerce.cart.handlers import clear
from commerce.cart.store import cart_for, remove_skus
from commerce.contracts import Envelope
from commerce.contracts.checkout import CartCleared, ClearCart
from commerce.contracts.values import MAX_CHECKOUT_LINES
from commerce.platform.consumer import MessageContext
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


async def test_a_cart_holds_at_most_one_checkout_of_lines(stack: ServiceStack) -> None:
    await stack.ensure("cart")
    user = f"u-{uuid.uuid4().hex[:8]}"
    async with stack.client("cart") as http:
        for i in range(MAX_CHECKOUT_LINES):
            assert (await http.post(f"/carts/{user}/lines", json=line(f"S{i}"))).status_code == 200
        refused = await http.post(f"/carts/{user}/lines", json=line("ONE-MORE"))
        assert refused.status_code == 422
        assert refused.json()["detail"]["code"] == "cart_full"
        assert str(MAX_CHECKOUT_LINES) in refused.json()["detail"]["message"]
        more_of_one = await http.post(f"/carts/{user}/lines", json=line("S0"))  # not a new line
        assert more_of_one.status_code == 200
        assert len(more_of_one.json()["lines"]) == MAX_CHECKOUT_LINES


@pytest.mark.parametrize("sku", ["..", ".", ".hidden", "A B", "A%2FB"])
async def test_path_ids_are_validated(stack: ServiceStack, sku: str) -> None:
    await stack.ensure("cart")
    user = f"u-{uuid.uuid4().hex[:8]}"
    async with stack.client("cart") as http:
        await http.post(f"/carts/{user}/lines", json=line("A"))
        # dots encoded too: a client would otherwise resolve `..` itself before sending
        segment = quote(sku, safe="").replace(".", "%2E")
        response = await http.delete(f"/carts/{user}/lines/{segment}")
        assert response.status_code in (404, 422)
        assert [li["sku"] for li in (await http.get(f"/carts/{user}")).json()["lines"]] == ["A"]


async def _lock_waits(runtime: Any, minimum: int) -> bool:
    async with runtime.db.sessions() as session:
        waiting = await session.scalar(
            text(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND wait_event_type = 'Lock'"
            )
        )
    return int(waiting or 0) >= minimum


async def test_a_persons_edit_and_clear_cart_take_locks_in_one_order(stack: ServiceStack) -> None:
    """A person removes a line while the ClearCart after their order runs. The edit locks
    the cart row, then the line; ClearCart must do the same, or it deletes the lines first
    and then waits for the cart row the edit holds while the edit waits for its line: a
    deadlock. Here the edit holds the cart row while ClearCart starts, so the old order
    would deadlock every time."""
    await stack.ensure("cart")
    runtime = stack.runtime("cart")
    user, checkout = f"u-{uuid.uuid4().hex[:8]}", uuid.uuid4()
    async with stack.client("cart") as http:
        for sku in ("A", "B", "C"):
            await http.post(f"/carts/{user}/lines", json=line(sku))
    message = ClearCart(checkout_id=checkout, user_id=user, skus=["A", "B", "C"])

    async def clear_cart() -> None:
        async with runtime.db.transaction() as session:
            envelope = Envelope.wrap(message, correlation_id=str(checkout))
            await clear(message, MessageContext(session, envelope, runtime.outbox, runtime))

    async with runtime.db.transaction() as edit:  # what DELETE /carts/{user}/lines/B does
        cart = await cart_for(edit, user, lock=True)
        clearing = asyncio.create_task(clear_cart())
        # the test's own polling runs beside the edit (its task holds the transaction on
        # purpose, to make the race; the I/O guard watches the code under test)
        await asyncio.create_task(
            eventually(lambda: _lock_waits(runtime, 1), lambda waiting: waiting, within=10)
        )
        assert await remove_skus(edit, cart["cart_id"], ["B"]) == 1
    await asyncio.wait_for(clearing, 10)  # no DeadlockDetectedError
    async with stack.client("cart") as http:
        assert (await http.get(f"/carts/{user}")).json()["lines"] == []


async def test_edits_and_clear_cart_run_together_without_errors(stack: ServiceStack) -> None:
    """The same race through the real route and handler, many times."""
    await stack.ensure("cart")
    runtime = stack.runtime("cart")

    async def clear_cart(message: ClearCart) -> None:
        async with runtime.db.transaction() as session:
            envelope = Envelope.wrap(message, correlation_id=str(message.checkout_id))
            await clear(message, MessageContext(session, envelope, runtime.outbox, runtime))

    async with stack.client("cart") as http:
        for _ in range(25):
            user = f"u-{uuid.uuid4().hex[:8]}"
            for sku in ("A", "B", "C", "D"):
                await http.post(f"/carts/{user}/lines", json=line(sku))
            message = ClearCart(checkout_id=uuid.uuid4(), user_id=user, skus=["A", "B", "C"])
            removed, _ = await asyncio.gather(
                http.delete(f"/carts/{user}/lines/B"), clear_cart(message)
            )
            assert removed.status_code in (200, 404)
            left = (await http.get(f"/carts/{user}")).json()["lines"]
            assert [li["sku"] for li in left] == ["D"]
