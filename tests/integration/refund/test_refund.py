"""Refunds end to end: a real checkout, partial refunds by amount and by line, limits, and
the refund that cancels an order (its stock back on the shelf, once)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from commerce.checkout.invariants import check_invariants
from commerce.contracts.base import Envelope
from commerce.contracts.checkout import CommitInventory
from commerce.contracts.orders import RestockInventory
from commerce.contracts.refunds import RefundSucceeded
from commerce.contracts.topics import Topic
from commerce.platform.dlq import list_dead_letters
from tests.conftest import ServiceStack
from tests.integration.checkout.helpers import HOME, finished, get, initiate, stock, stocked
from tests.integration.helpers import eventually, send

pytestmark = pytest.mark.integration
NEEDED = (
    "inventory", "payment-gateway", "order", "cart", "discount-engine", "tax-calculation",
    "checkout-orchestrator", "refund", "email-service",
)  # fmt: skip


async def bought(stack: ServiceStack, producer: Any) -> tuple[Any, dict[str, Any]]:
    await stack.ensure(*NEEDED)
    cable = (await stocked(stack, 10, price=1000)).model_copy(update={"quantity": 2})
    lamp = await stocked(stack, 10, price=3000)
    california = HOME.model_copy(
        update={"region": "CA", "city": "San Francisco", "postal_code": "94105"}
    )
    command = await initiate(stack, [cable, lamp], address=california)
    await send(producer, command)
    saga = await finished(stack, command.checkout_id)
    assert saga["state"] == "completed", saga
    async with stack.client("refund") as http:  # the projection arrives with CheckoutCompleted
        await eventually(
            lambda: http.post(
                "/issue-refund",
                json={
                    "order_id": saga["order_id"],
                    "user_id": command.user_id,
                    "reason": "probe",
                    "amount_cents": 10**9,
                },
            ),
            lambda r: r.status_code == 409,
        )
    return command, saga


async def refund_status(stack: ServiceStack, refund_id: str) -> str:
    async with stack.client("refund") as http:
        status: str = (await http.get(f"/refunds/{refund_id}")).json()["status"]
        return status


async def test_partial_refunds_return_exactly_what_was_asked(
    stack: ServiceStack, producer: Any
) -> None:
    command, saga = await bought(stack, producer)
    user, order_id = command.user_id, saga["order_id"]
    cable = command.lines[0]
    async with stack.client("refund") as http:
        by_amount = await http.post(
            "/issue-refund",
            json={"order_id": order_id, "user_id": user, "reason": "late", "amount_cents": 500},
            headers={"Idempotency-Key": "k1"},
        )
        assert by_amount.status_code == 202 and by_amount.json()["status"] == "pending"
        replay = await http.post(
            "/issue-refund",
            json={"order_id": order_id, "user_id": user, "reason": "late", "amount_cents": 500},
            headers={"Idempotency-Key": "k1"},
        )
        assert replay.json()["refund_id"] == by_amount.json()["refund_id"]
        other = await http.post(
            "/issue-refund",
            json={"order_id": order_id, "user_id": user, "reason": "late", "amount_cents": 600},
            headers={"Idempotency-Key": "k1"},
        )
        assert other.status_code == 422
        by_line = await http.post(
            "/issue-refund",
            json={
                "order_id": order_id,
                "user_id": user,
                "reason": "damaged",
                "lines": [{"sku": cable.sku, "quantity": 1}],
            },
        )
        # two cables at 10.00 paid 21.45 with their 7.25% California tax; one of them: floor(21.45 / 2)
        assert by_line.json()["amount_cents"] == 1072
        for refund_id in (by_amount.json()["refund_id"], by_line.json()["refund_id"]):
            await eventually(
                lambda rid=refund_id: refund_status(stack, rid),  # type: ignore[misc]
                lambda s: s == "succeeded",
            )
        stranger = await http.post(
            "/issue-refund", json={"order_id": order_id, "user_id": "someone-else", "reason": "x"}
        )
        assert stranger.status_code == 404
        assert (
            await http.post(
                "/issue-refund",
                json={
                    "order_id": order_id,
                    "user_id": user,
                    "reason": "x",
                    "amount_cents": 1,
                    "lines": [{"sku": cable.sku, "quantity": 1}],
                },
            )
        ).status_code == 422
        assert (
            await http.post(
                "/issue-refund",
                json={
                    "order_id": order_id,
                    "user_id": user,
                    "reason": "x",
                    "lines": [{"sku": cable.sku, "quantity": 5}],
                },
            )
        ).status_code == 409
    payment = await get(stack, "payment-gateway", f"/payments/{command.checkout_id}")
    assert payment["refunded_cents"] == 500 + 1072
    order = await eventually(
        lambda: get(stack, "order", f"/orders/{order_id}"), lambda o: o["refunded_cents"] == 1572
    )
    assert order["status"] == "partially_refunded"
    assert any("refund" in (h["reason"] or "") for h in order["history"])
    async with stack.client("email-service") as http:
        await eventually(
            lambda: http.get("/notifications", params={"user_id": user}),
            lambda r: sum(n["template"] == "refund_processed" for n in r.json()["items"]) == 2,
        )


async def test_concurrent_refunds_never_exceed_the_capture(
    stack: ServiceStack, producer: Any
) -> None:
    command, saga = await bought(stack, producer)
    total = command.quote.total_cents
    async with stack.client("refund") as http:
        responses = await asyncio.gather(
            *(http.post("/issue-refund", json={"order_id": saga["order_id"], "user_id": command.user_id, "reason": "x", "amount_cents": total // 3})
              for _ in range(8))
        )  # fmt: skip
        assert sum(r.status_code == 202 for r in responses) == 3
        assert all(r.status_code in (202, 409) for r in responses)
        full = await http.post(
            "/issue-refund",
            json={"order_id": saga["order_id"], "user_id": command.user_id, "reason": "rest"},
        )
        assert full.status_code == 202 and full.json()["amount_cents"] == total - 3 * (total // 3)
    payment = await eventually(
        lambda: get(stack, "payment-gateway", f"/payments/{command.checkout_id}"),
        lambda p: p["refunded_cents"] == total,
    )
    assert payment["status"] == "refunded"
    assert uuid.UUID(saga["order_id"])


async def handled(stack: ServiceStack, service: str, *envelopes: Envelope) -> bool:
    async with stack.client(service) as http:
        body = {"message_ids": [str(e.message_id) for e in envelopes]}
        answer = await http.post("/ops/inbox", json=body)
        return len(answer.json()["handled"]) == len(envelopes)


async def shelf(stack: ServiceStack, skus: list[str]) -> dict[str, tuple[int, int]]:
    levels = {sku: await stock(stack, sku) for sku in skus}
    return {sku: (s["on_hand"], s["reserved"]) for sku, s in levels.items()}


async def test_a_cancellation_shows_cancelled_and_returns_the_stock_once(
    stack: ServiceStack, producer: Any
) -> None:
    command, saga = await bought(stack, producer)
    user, order_id = command.user_id, saga["order_id"]
    skus = [line.sku for line in command.lines]
    sold = {line.sku: (10 - line.quantity, 0) for line in command.lines}
    await eventually(lambda: shelf(stack, skus), lambda s: s == sold)  # committed
    async with stack.client("refund") as http:
        mixed = {"order_id": order_id, "user_id": user, "reason": "x", "cancels_order": True}
        assert (
            await http.post("/issue-refund", json={**mixed, "amount_cents": 5})
        ).status_code == 422
        cancel = await http.post(
            "/issue-refund",
            json={"order_id": order_id, "user_id": user, "reason": "changed my mind", "cancels_order": True},
        )  # fmt: skip
        assert cancel.status_code == 202, cancel.text
        refund = cancel.json()
        assert refund["cancels_order"] and refund["amount_cents"] == command.quote.total_cents
    order = await eventually(
        lambda: get(stack, "order", f"/orders/{order_id}"), lambda o: o["status"] != "confirmed"
    )
    assert order["status"] == "cancelled", order  # not "refunded"
    assert order["refunded_cents"] == command.quote.total_cents
    await eventually(lambda: shelf(stack, skus), lambda s: s == dict.fromkeys(skus, (10, 0)))
    async with stack.client("refund") as http:
        listed = (await http.get("/refunds", params={"order_id": order_id})).json()["items"]
        assert [(r["status"], r["cancels_order"]) for r in listed] == [("succeeded", True)]
        again = await http.post(
            "/issue-refund",
            json={"order_id": order_id, "user_id": user, "reason": "again", "cancels_order": True},
        )
        assert again.status_code == 409  # nothing left to refund

    # redeliveries (new message ids, so no inbox drops them) return nothing twice
    checkout_id = command.checkout_id
    restock = RestockInventory(
        checkout_id=checkout_id, order_id=uuid.UUID(order_id), reason="order cancelled"
    )
    succeeded = RefundSucceeded(
        refund_id=uuid.UUID(refund["refund_id"]), order_id=uuid.UUID(order_id),
        checkout_id=checkout_id, amount_cents=refund["amount_cents"], currency="USD", cancels_order=True,
    )  # fmt: skip
    repeats = [await send(producer, restock), await send(producer, restock)]
    late_commit = await send(producer, CommitInventory(checkout_id=checkout_id))
    repeated_refund = await send(producer, succeeded)
    await eventually(lambda: handled(stack, "inventory", *repeats, late_commit), bool)
    await eventually(lambda: handled(stack, "order", repeated_refund), bool)
    assert await shelf(stack, skus) == dict.fromkeys(skus, (10, 0))
    order = await get(stack, "order", f"/orders/{order_id}")
    assert order["status"] == "cancelled" and order["refunded_cents"] == command.quote.total_cents
    assert [h["to_status"] for h in order["history"]].count("cancelled") == 1

    # a malformed restock is dead-lettered by inventory, not dropped and not half applied
    bad = Envelope(type="RestockInventory", version=1, payload={"checkout_id": str(checkout_id)})
    await producer.send_and_wait(
        Topic.INVENTORY_COMMAND, bad.to_bytes(), key=str(checkout_id).encode()
    )
    runtime = stack.running.runtimes["inventory"]
    letters = await eventually(
        lambda: list_dead_letters(runtime.service, runtime.db),
        lambda d: any(letter.type == "RestockInventory" for letter in d),
    )
    assert any("invalid RestockInventory" in d.error for d in letters), letters
    assert await shelf(stack, skus) == dict.fromkeys(skus, (10, 0))
    report = await check_invariants(stack.settings, [checkout_id], follow_ups=False)
    assert report.ok, report.summary()
