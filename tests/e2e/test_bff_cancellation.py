"""Cancelling an order through the public API: the refund that says `cancels_order`, what
it refuses (a shipped order, an amount with it), and the order shown as cancelled with its
stock back on the shelf."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from commerce.contracts.values import FINAL_STATES
from commerce.services import SERVICES
from tests.conftest import ServiceStack
from tests.e2e.helpers import closing, empty_cart, signed_in, start_checkout
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration
SKU = "NB-A5-BLA"


async def bought(client: httpx.AsyncClient) -> dict[str, Any]:
    checkout_id = await start_checkout(client, SKU)

    async def status() -> Any:
        return (await client.get(f"/v1/checkouts/{checkout_id}")).json()

    done = await eventually(status, lambda s: s.get("state") in FINAL_STATES, within=60)
    assert done["state"] == "completed", done
    order: dict[str, Any] = await eventually(
        lambda: _json(client.get(f"/v1/orders/{done['order_id']}")),
        lambda o: o["status"] == "confirmed",
    )
    return order


async def _json(response: Any) -> Any:
    return (await response).json()


async def on_hand(stack: ServiceStack) -> int:
    async with stack.client("inventory") as http:
        level: int = (await http.get(f"/stock/{SKU}")).json()["on_hand"]
        return level


async def cancel(client: httpx.AsyncClient, order_id: str, **extra: Any) -> httpx.Response:
    """The person's cancellation, retried while the refund service has not learnt of the
    order yet (it hears of it from CheckoutCompleted)."""
    body = {"reason": "changed my mind", "cancels_order": True, **extra}
    return await eventually(
        lambda: client.post(f"/v1/orders/{order_id}/refunds", json=body),
        lambda r: r.status_code != 404,
    )


async def test_a_cancelled_order_is_cancelled_and_its_stock_is_back(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    bob = await signed_in(stack, "bob@example.com", "bob-demo-pass")
    async with closing(bob), stack.client("order") as orders:
        await empty_cart(bob)
        before = await on_hand(stack)
        order = await bought(bob)
        await eventually(lambda: on_hand(stack), lambda n: n == before - 1)  # committed
        mixed = await cancel(bob, order["order_id"], amount_cents=100)
        assert mixed.status_code == 422, mixed.text
        cancelled = await cancel(bob, order["order_id"])
        assert cancelled.status_code == 202, cancelled.text
        assert cancelled.json()["cancels_order"] is True
        shown = await eventually(
            lambda: _json(bob.get(f"/v1/orders/{order['order_id']}")),
            lambda o: o["status"] != "confirmed",
            within=60,
        )
        assert shown["status"] == "cancelled" and shown["refunded_cents"] == order["total_cents"]
        listed = await _json(bob.get("/v1/orders"))
        assert (
            next(o for o in listed["items"] if o["order_id"] == order["order_id"])["status"]
            == "cancelled"
        )
        await eventually(lambda: on_hand(stack), lambda n: n == before)  # back, once
        again = await cancel(bob, order["order_id"])
        assert again.status_code == 409 and again.json()["error"]["code"] == "not_cancellable"

        # a shipped order is refunded, not cancelled
        shipped = await bought(bob)
        assert (await orders.post(f"/orders/{shipped['order_id']}/ship")).status_code == 200
        refused = await cancel(bob, shipped["order_id"])
        assert refused.status_code == 409, refused.text
        error = refused.json()["error"]
        assert error["code"] == "not_cancellable" and "refund" in error["message"], error
