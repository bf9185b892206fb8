"""order's messages and REST API against the real database and broker."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import pytest

from commerce.contracts.checkout import CreateOrder, OrderCreated, OrderCreationFailed
from commerce.contracts.refunds import RefundSucceeded
from commerce.contracts.values import Address, CheckoutLine, Totals
from tests.conftest import ServiceStack
from tests.integration.helpers import eventually, send, wait_for_event

pytestmark = pytest.mark.integration

HOME = Address(
    name="Bob", line1="2 Elm St", city="Austin", region="TX", postal_code="73301", country="US"
)


def create(user: str, *, total: int = 2000, address: Address = HOME) -> CreateOrder:
    return CreateOrder(
        checkout_id=uuid.uuid4(), user_id=user, payment_id=uuid.uuid4(), shipping_address=address,
        lines=[CheckoutLine(sku="A", product_id="p", name="Item A", quantity=2, unit_price_cents=1000)],
        totals=Totals(subtotal_cents=2000, total_cents=total),
    )  # fmt: skip


async def order_id(infra: Any, command: CreateOrder) -> uuid.UUID:
    events = await wait_for_event(infra, command.checkout_id, OrderCreated, OrderCreationFailed)
    created = events[-1]
    assert isinstance(created, OrderCreated), created
    return created.order_id


async def test_orders_are_created_once_and_listed_newest_first(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    await stack.ensure("order")
    user = f"u-{uuid.uuid4().hex[:8]}"
    first, second = create(user), create(user)
    await send(producer, first)
    await send(producer, first)  # re-sent: the same order
    first_id = await order_id(infra, first)
    await eventually(
        lambda: wait_for_event(infra, first.checkout_id, OrderCreated), lambda e: len(e) == 2
    )
    created = await wait_for_event(infra, first.checkout_id, OrderCreated)
    assert {e.order_id for e in created if isinstance(e, OrderCreated)} == {first_id}
    await send(producer, second)
    second_id = await order_id(infra, second)
    async with stack.client("order") as http:
        listed = (await http.get("/orders", params={"user_id": user})).json()
        assert [o["order_id"] for o in listed["items"]] == [str(second_id), str(first_id)]
        # the list holds summaries: no lines or history (the detail has them)
        assert all("lines" not in o and "history" not in o for o in listed["items"])
        detail = (await http.get(f"/orders/{first_id}")).json()
        assert (
            detail["lines"][0]["quantity"] == 2 and detail["history"][0]["to_status"] == "created"
        )
        assert (await http.get(f"/orders/by-checkout/{first.checkout_id}")).json()[
            "order_id"
        ] == str(first_id)
        assert (await http.get(f"/orders/{uuid.uuid4()}")).status_code == 404
        assert (await http.get("/orders")).status_code == 422


async def test_totals_that_do_not_add_up_and_restricted_destinations_fail(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    await stack.ensure("order")
    wrong = create("u-x", total=1999)
    hawaii = create("u-x", address=HOME.model_copy(update={"region": "HI"}))
    for command in (wrong, hawaii):
        await send(producer, command)
    failed = (await wait_for_event(infra, wrong.checkout_id, OrderCreationFailed))[-1]
    assert "total" in failed.reason  # type: ignore[attr-defined]
    blocked = (await wait_for_event(infra, hawaii.checkout_id, OrderCreationFailed))[-1]
    assert blocked.reason == "We do not ship to Alaska or Hawaii yet."  # type: ignore[attr-defined]


async def test_state_machine_over_rest_and_refunds(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    oid = await _placed(stack, infra, producer)
    async with stack.client("order") as http:
        assert (await http.post(f"/orders/{oid}/deliver")).status_code == 409
        shipped = await http.post(f"/orders/{oid}/ship")
        assert shipped.status_code == 409  # still "created": not confirmed yet
        cancelled = (
            await http.post(f"/orders/{oid}/cancel", json={"reason": "changed my mind"})
        ).json()
        assert (
            cancelled["status"] == "cancelled"
            and cancelled["history"][-1]["reason"] == "changed my mind"
        )
        again = await http.post(f"/orders/{oid}/cancel")
        assert again.status_code == 409 and "cancelled" in again.json()["detail"]

    refundable = create(f"u-{uuid.uuid4().hex[:8]}")
    await send(producer, refundable)
    rid = await order_id(infra, refundable)
    runtime = stack.runtime("order")
    from commerce.order.domain import Status
    from commerce.order.store import record_transition

    async with runtime.db.transaction() as session:
        await record_transition(session, rid, "created", Status.CONFIRMED, "payment captured")
    for amount in (500, 1500):
        await send(
            producer,
            RefundSucceeded(
                refund_id=uuid.uuid4(),
                order_id=rid,
                checkout_id=refundable.checkout_id,
                amount_cents=amount,
                currency="USD",
            ),
        )
    async with stack.client("order") as http:
        final = await eventually(
            lambda: _get(http, f"/orders/{rid}"), lambda o: o["status"] == "refunded"
        )
    assert final["refunded_cents"] == 2000
    assert [h["to_status"] for h in final["history"]] == [
        "created",
        "confirmed",
        "partially_refunded",
        "refunded",
    ]


async def test_an_order_on_its_way_carries_standard_shippings_window(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    from commerce.order.domain import Status, delivery_estimate
    from commerce.order.store import record_transition

    oid = await _placed(stack, infra, producer)
    async with stack.runtime("order").db.transaction() as session:
        await record_transition(session, oid, "created", Status.CONFIRMED, "payment captured")
    async with stack.client("order") as http:
        confirmed = await _get(http, f"/orders/{oid}")
        placed = datetime.fromisoformat(confirmed["created_at"])
        window = delivery_estimate("confirmed", placed, None)
        assert window is not None
        assert confirmed["delivery_estimate"] == {
            "earliest": window[0].isoformat(), "latest": window[1].isoformat()
        }  # fmt: skip
        shipped = (await http.post(f"/orders/{oid}/ship")).json()
        at = datetime.fromisoformat(shipped["history"][-1]["at"])
        window = delivery_estimate("shipped", placed, at)
        assert window is not None and shipped["delivery_estimate"]["latest"] == (
            window[1].isoformat()
        )
        delivered = (await http.post(f"/orders/{oid}/deliver")).json()
        assert delivered["delivery_estimate"] is None


async def _placed(stack: ServiceStack, infra: Any, producer: Any) -> uuid.UUID:
    """A new order of a new person, as CreateOrder makes it (status created)."""
    await stack.ensure("order")
    command = create(f"u-{uuid.uuid4().hex[:8]}")
    await send(producer, command)
    return await order_id(infra, command)


async def _get(http: Any, path: str) -> Any:
    return (await http.get(path)).json()
