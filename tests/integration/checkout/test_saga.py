"""The checkout saga end to end against the real broker, databases and services."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from commerce.platform.db import asyncpg_dsn
from tests.conftest import ServiceStack
from tests.integration.checkout.helpers import (
    HOME,
    finished,
    get,
    initiate,
    ready,
    service_down,
    stock,
    stocked,
)
from tests.integration.helpers import eventually, send

pytestmark = pytest.mark.integration


async def test_happy_path(stack: ServiceStack, producer: Any) -> None:
    await ready(stack)
    line = (await stocked(stack, 5)).model_copy(update={"quantity": 2})
    command = await initiate(stack, [line])
    async with stack.client("cart") as http:
        await http.post(
            f"/carts/{command.user_id}/lines",
            json={k: v for k, v in line.model_dump().items() if k != "tax_class"}
            | {"currency": "USD"},
        )
        await http.post(
            f"/carts/{command.user_id}/lines",
            json={
                "sku": "KEEP-ME",
                "product_id": "p",
                "name": "kept",
                "quantity": 1,
                "unit_price_cents": 1,
            },
        )
    await send(producer, command)
    saga = await finished(stack, command.checkout_id)
    assert saga["state"] == "completed", saga
    order = await get(stack, "order", f"/orders/{saga['order_id']}")
    payment = await get(stack, "payment-gateway", f"/payments/{command.checkout_id}")
    total = command.quote.total_cents
    assert total == 2000 + 599  # two at 10.00, flat shipping, no sales tax in Oregon
    assert payment["captured_cents"] == total and [e["kind"] for e in payment["ledger"]] == [
        "authorize",
        "capture",
    ]
    assert order["total_cents"] == total and order["shipping_cents"] == 599
    await eventually(
        lambda: get(stack, "order", f"/orders/{saga['order_id']}"),
        lambda o: o["status"] == "confirmed",
    )
    await eventually(
        lambda: stock(stack, line.sku), lambda s: s["on_hand"] == 3 and s["reserved"] == 0
    )
    cart = await eventually(
        lambda: get(stack, "cart", f"/carts/{command.user_id}"), lambda c: len(c["lines"]) == 1
    )
    assert [li["sku"] for li in cart["lines"]] == ["KEEP-ME"]
    timeline = await get(stack, "checkout-orchestrator", f"/checkouts/{command.checkout_id}/events")
    types = [e["type"] for e in timeline["events"]]
    assert types[:3] == ["InitiateCheckoutCommand", "ReserveInventory", "InventoryReserved"]
    assert "CheckoutCompleted" in types


async def test_declined_payment_puts_the_stock_back(stack: ServiceStack, producer: Any) -> None:
    await ready(stack)
    line = await stocked(stack, 3)
    command = await initiate(stack, [line], token="tok_declined")
    await send(producer, command)
    saga = await finished(stack, command.checkout_id)
    assert saga["code"] == "payment_declined" and "declined" in saga["reason"]
    await eventually(
        lambda: stock(stack, line.sku), lambda s: s["reserved"] == 0 and s["on_hand"] == 3
    )
    payment = await get(stack, "payment-gateway", f"/payments/{command.checkout_id}")
    assert payment["captured_cents"] == 0


async def test_order_failure_refunds_and_puts_the_stock_back(
    stack: ServiceStack, producer: Any
) -> None:
    await ready(stack)
    line = await stocked(stack, 3)
    alaska = HOME.model_copy(update={"region": "AK", "city": "Juneau"})
    command = await initiate(stack, [line], address=alaska)
    await send(producer, command)
    saga = await finished(stack, command.checkout_id)
    assert saga["code"] == "order_failed" and "Alaska" in saga["reason"], saga
    payment = await get(stack, "payment-gateway", f"/payments/{command.checkout_id}")
    assert payment["captured_cents"] == payment["refunded_cents"] == command.quote.total_cents
    await eventually(
        lambda: stock(stack, line.sku), lambda s: s["reserved"] == 0 and s["on_hand"] == 3
    )


async def test_out_of_stock_charges_nothing_and_names_the_item(
    stack: ServiceStack, producer: Any
) -> None:
    await ready(stack)
    line = (await stocked(stack, 1)).model_copy(update={"quantity": 2})
    command = await initiate(stack, [line])
    await send(producer, command)
    saga = await finished(stack, command.checkout_id)
    assert saga["code"] == "out_of_stock"
    assert saga["reason"].startswith(f"Only 1 left of {line.name}")
    assert await get(stack, "payment-gateway", f"/payments/{command.checkout_id}") is None


async def test_a_changed_price_stops_before_anything_happens(
    stack: ServiceStack, producer: Any
) -> None:
    await ready(stack)
    line = await stocked(stack, 3)
    command = await initiate(stack, [line], quote_total=900)
    await send(producer, command)
    saga = await finished(stack, command.checkout_id)
    assert saga["code"] == "price_changed"
    assert (await stock(stack, line.sku))["reserved"] == 0
    assert await get(stack, "inventory", f"/reservations/{command.checkout_id}") is None


async def test_a_checkout_priced_moments_ago_starts_at_that_price_and_a_stale_one_is_priced_again(
    stack: ServiceStack, producer: Any
) -> None:
    """The publisher's quote stands when it is fresh (docs/adr/0041): the orchestrator
    does not ask the pricing services again. One cent of tax more than they would say
    shows which price was used: fresh, it is charged; an hour old, it is priced again and
    the checkout stops at price_changed."""
    await ready(stack)
    line = await stocked(stack, 5)
    now = datetime.now(UTC)
    for priced_at, state in ((now, "completed"), (now - timedelta(hours=1), "failed")):
        command = await initiate(stack, [line], priced_at=priced_at)
        quote = command.quote.model_copy(
            update={"tax_cents": command.quote.tax_cents + 1,
                    "total_cents": command.quote.total_cents + 1}
        )  # fmt: skip
        command = command.model_copy(update={"quote": quote})
        await send(producer, command)
        saga = await finished(stack, command.checkout_id)
        assert saga["state"] == state, saga
        payment = await get(stack, "payment-gateway", f"/payments/{command.checkout_id}")
        if state == "completed":
            assert payment["captured_cents"] == quote.total_cents
        else:
            assert saga["code"] == "price_changed" and payment is None


@contextmanager
def duplicated_deliveries(stack: ServiceStack) -> Iterator[None]:
    runtimes = list(stack.running.runtimes.values())
    for runtime in runtimes:
        runtime.relay.duplicate_deliveries = True
    try:
        yield
    finally:
        for runtime in runtimes:
            runtime.relay.duplicate_deliveries = False


async def test_every_message_delivered_twice_ends_the_same(
    stack: ServiceStack, producer: Any
) -> None:
    await ready(stack)
    line = await stocked(stack, 4)
    ok, declined = (
        await initiate(stack, [line]),
        await initiate(stack, [line], token="tok_declined"),
    )
    with duplicated_deliveries(stack):
        for command in (ok, declined):
            await send(producer, command)
            await send(producer, command)
        first, second = (
            await finished(stack, ok.checkout_id),
            await finished(stack, declined.checkout_id),
        )
        await asyncio.sleep(1.0)  # let the duplicates of the last messages arrive too
    assert first["state"] == "completed" and second["code"] == "payment_declined"
    payment = await get(stack, "payment-gateway", f"/payments/{ok.checkout_id}")
    assert [e["kind"] for e in payment["ledger"]] == ["authorize", "capture"]
    assert await stock(stack, line.sku) == {
        "sku": line.sku,
        "product_id": "p-saga",
        "on_hand": 3,
        "reserved": 0,
        "available": 3,
    }


async def test_200_checkouts_compete_for_the_last_units(stack: ServiceStack, producer: Any) -> None:
    await ready(stack)
    k = 5
    line = await stocked(stack, k)
    commands = [await initiate(stack, [line]) for _ in range(200)]
    await asyncio.gather(*(send(producer, c) for c in commands))
    sagas = [await finished(stack, c.checkout_id, within=120) for c in commands]
    completed = [s for s in sagas if s["state"] == "completed"]
    assert len(completed) == k
    assert all(s["code"] == "out_of_stock" for s in sagas if s["state"] == "failed")
    level = await eventually(lambda: stock(stack, line.sku), lambda s: s["reserved"] == 0)
    assert level["on_hand"] == 0
    for saga in sagas:
        payment = await get(stack, "payment-gateway", f"/payments/{saga['checkout_id']}")
        if saga["state"] == "failed":
            assert payment is None or payment["captured_cents"] == payment["refunded_cents"]


async def test_a_service_down_briefly_is_waited_for(stack: ServiceStack, producer: Any) -> None:
    await ready(stack)
    line = await stocked(stack, 2)
    command = await initiate(stack, [line])
    async with service_down(stack, "payment-gateway"):
        await send(producer, command)
        await eventually(
            lambda: get(stack, "checkout-orchestrator", f"/checkouts/{command.checkout_id}"),
            lambda s: s is not None and s["state"] == "charging",
        )
    saga = await finished(stack, command.checkout_id)
    assert saga["state"] == "completed"


async def test_a_service_down_too_long_compensates_and_says_why(
    stack: ServiceStack, producer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready(stack)
    saga_settings = stack.runtime("checkout-orchestrator").settings.checkout
    monkeypatch.setattr(saga_settings, "step_timeout_seconds", 0.5)
    monkeypatch.setattr(saga_settings, "max_resends", 1)
    line = await stocked(stack, 2)
    command = await initiate(stack, [line])
    async with service_down(stack, "order"):
        await send(producer, command)
        saga = await finished(stack, command.checkout_id, within=30)
    assert saga["code"] == "timeout" and "order service did not answer" in saga["reason"]
    payment = await get(stack, "payment-gateway", f"/payments/{command.checkout_id}")
    assert payment["captured_cents"] == payment["refunded_cents"]
    await eventually(
        lambda: stock(stack, line.sku), lambda s: s["reserved"] == 0 and s["on_hand"] == 2
    )
    # when the order service returns, the CreateOrder it missed is handled (and its order
    # cancelled when CheckoutFailed comes after it)
    await eventually(
        lambda: get(stack, "order", f"/orders/by-checkout/{command.checkout_id}"),
        lambda order: order is not None,
    )


async def test_a_command_still_in_the_outbox_is_not_sent_again(
    stack: ServiceStack, producer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its deadline, a step whose command the relay has not published yet waits for
    it instead of queueing a copy behind it, and does not use up its re-sends."""
    await ready(stack)
    saga_settings = stack.runtime("checkout-orchestrator").settings.checkout
    monkeypatch.setattr(saga_settings, "step_timeout_seconds", 0.2)
    monkeypatch.setattr(saga_settings, "max_resends", 1)
    line = await stocked(stack, 2)
    command = await initiate(stack, [line])
    runtime = stack.running.runtimes["checkout-orchestrator"]
    # hold the orchestrator relay's leader lock: its outbox rows stay unpublished
    blocker = await asyncpg.connect(asyncpg_dsn(runtime.db.url))
    try:
        await blocker.execute("SELECT pg_advisory_lock($1)", runtime.relay.lock_id)
        await send(producer, command)
        await eventually(
            lambda: get(stack, "checkout-orchestrator", f"/checkouts/{command.checkout_id}"),
            lambda s: s is not None and s["state"] == "reserving",
        )
        await asyncio.sleep(1.5)  # several deadlines pass while the command waits
        saga = await get(stack, "checkout-orchestrator", f"/checkouts/{command.checkout_id}")
        assert saga["state"] == "reserving"
        queued = await blocker.fetchval(
            "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND type = 'ReserveInventory'"
            " AND headers->>'correlation_id' = $1",
            str(command.checkout_id),
        )
        assert queued == 1
        # from here the command goes out; give it the usual time to be answered
        monkeypatch.setattr(saga_settings, "step_timeout_seconds", 5.0)

        async def deadline_moved() -> bool:  # by the sweeper, with the usual period
            moved = await blocker.fetchval(
                "SELECT deadline_at > now() + interval '2 seconds' FROM sagas"
                " WHERE checkout_id = $1",
                command.checkout_id,
            )
            return bool(moved)

        await eventually(deadline_moved, lambda moved: moved)
    finally:
        await blocker.close()  # releases the lock
    saga = await finished(stack, command.checkout_id)
    assert saga["state"] == "completed"
    events = await get(stack, "checkout-orchestrator", f"/checkouts/{command.checkout_id}/events")
    sent = [
        e for e in events["events"] if e["direction"] == "out" and e["type"] == "ReserveInventory"
    ]
    assert len(sent) == 1


async def test_sagas_in_flight_when_a_service_restarts_all_finish_and_agree(
    stack: ServiceStack, producer: Any, infra: Any
) -> None:
    from commerce.checkout.invariants import check_invariants

    await ready(stack)
    line = await stocked(stack, 1000, price=700)
    commands = [
        await initiate(stack, [line], token=t) for t in ["tok_visa"] * 25 + ["tok_declined"] * 5
    ]
    await asyncio.gather(*(send(producer, c) for c in commands))
    await stack.stop("payment-gateway")  # mid-stream: some charged, some not yet
    await asyncio.sleep(0.3)
    await stack.ensure("payment-gateway")
    sagas = [await finished(stack, c.checkout_id, within=90) for c in commands]
    assert sum(s["state"] == "completed" for s in sagas) == 25
    await eventually(lambda: stock(stack, line.sku), lambda s: s["reserved"] == 0)
    report = await eventually(
        lambda: check_invariants(infra, [c.checkout_id for c in commands], follow_ups=False),
        lambda r: r.ok,
        within=30,
    )
    assert report.completed == 25 and report.failed == 5
    assert report.net_captured_cents == report.net_sold_cents == 25 * commands[0].quote.total_cents


async def test_the_invariant_checker_reports_a_planted_violation(
    stack: ServiceStack, producer: Any, infra: Any
) -> None:
    from commerce.checkout.invariants import check_invariants
    from commerce.payment.tables import payments

    await ready(stack)
    line = await stocked(stack, 5)
    command = await initiate(stack, [line])
    await send(producer, command)
    await finished(stack, command.checkout_id)
    assert (
        await eventually(
            lambda: check_invariants(infra, [command.checkout_id], follow_ups=False),
            lambda r: r.ok,
        )
    ).ok
    runtime = stack.runtime("payment-gateway")
    async with runtime.db.transaction() as session:  # a second charge nobody asked for
        await session.execute(
            payments.update()
            .where(payments.c.checkout_id == command.checkout_id)
            .values(captured_cents=payments.c.captured_cents + 500)
        )
    report = await check_invariants(infra, [command.checkout_id], follow_ups=False)
    assert not report.ok
    total = command.quote.total_cents
    assert any(f"captured {total + 500} cents of {total}" in v for v in report.violations)
    assert any("money does not agree" in v for v in report.violations)


async def test_a_coupon_and_a_taxed_address_charge_exactly_what_was_quoted(
    stack: ServiceStack, producer: Any
) -> None:
    await ready(stack)
    line = (await stocked(stack, 5, price=1500)).model_copy(update={"quantity": 2})
    california = HOME.model_copy(
        update={"city": "San Francisco", "region": "CA", "postal_code": "94105"}
    )
    command = await initiate(stack, [line], address=california, coupon="save10")
    # 2 x 15.00 = 30.00; SAVE10 takes 3.00; tax 7.25% of 27.00 = 1.9575 -> 1.96; shipping 5.99
    assert command.quote.model_dump() == {
        "subtotal_cents": 3000, "discount_cents": 300, "tax_cents": 196, "shipping_cents": 599,
        "total_cents": 3495, "currency": "USD",
    }  # fmt: skip
    await send(producer, command)
    saga = await finished(stack, command.checkout_id)
    assert saga["state"] == "completed", saga
    payment = await get(stack, "payment-gateway", f"/payments/{command.checkout_id}")
    order = await get(stack, "order", f"/orders/{saga['order_id']}")
    assert payment["captured_cents"] == 3495
    parts = {
        k: order[k]
        for k in ("subtotal_cents", "discount_cents", "tax_cents", "shipping_cents", "total_cents")
    }
    assert parts == {
        "subtotal_cents": 3000,
        "discount_cents": 300,
        "tax_cents": 196,
        "shipping_cents": 599,
        "total_cents": 3495,
    }
    assert order["coupon_code"] == "save10"


async def test_a_coupon_used_up_since_the_quote_stops_the_checkout(
    stack: ServiceStack, producer: Any
) -> None:
    await ready(stack)
    line = await stocked(stack, 5, price=2500)
    user = f"u-{uuid.uuid4().hex[:8]}"
    first = await initiate(stack, [line], user=user, coupon="WELCOME5")
    second = await initiate(
        stack, [line], user=user, coupon="WELCOME5"
    )  # quoted before the first completes
    await send(producer, first)
    assert (await finished(stack, first.checkout_id))["state"] == "completed"
    async with stack.client(
        "discount-engine"
    ) as http:  # the redemption is recorded from CheckoutCompleted
        body = {
            "user_id": user,
            "coupon_code": "WELCOME5",
            "lines": [{"sku": line.sku, "quantity": 1, "unit_price_cents": 2500}],
        }
        await eventually(
            lambda: http.post("/calculate-discounts", json=body), lambda r: r.status_code == 422
        )
    await send(producer, second)
    saga = await finished(stack, second.checkout_id)
    assert (
        saga["code"] == "invalid_request" and "already used the coupon WELCOME5" in saga["reason"]
    )
    assert await get(stack, "inventory", f"/reservations/{second.checkout_id}") is None
