"""An order is acted on only when it is the one the person named: its full id, the short
number shown, "my last order", or the products they name, searched across all their
orders. A number that names none of them is said so, with their recent orders."""

from __future__ import annotations

import pytest

from assistant.llm.offline import OfflineParser
from assistant.plan import (
    CancelOrderStep,
    ClarifyStep,
    Order,
    Plan,
    RefundStep,
    RefuseStep,
    generate_plan,
    short_number,
)
from tests.unit.assistant.shop import LATEST, MIDDLE, OLD, FakeShop

parser = OfflineParser()


def shop() -> FakeShop:
    found = FakeShop()
    found.order_list = [LATEST, MIDDLE, OLD]  # newest first, as the order service lists them
    return found


async def plan_for(text: str) -> Plan:
    return await generate_plan(parser.parse(text).intent, shop())


def acted_on(plan: Plan) -> set[str]:
    return {s.order_id for s in plan.steps if isinstance(s, RefundStep | CancelOrderStep)}


@pytest.mark.parametrize(
    "text",
    [
        "where is order 12345",
        "what's the status of order #1042",
        "cancel order 55555",
        "I want a refund for order 99999",
        "return the headphones from order #4711",
    ],
)
async def test_a_number_that_is_none_of_the_persons_orders_is_never_replaced(text: str) -> None:
    plan = await plan_for(text)
    assert plan.outcome == "refuse", plan
    assert isinstance(plan.steps[-1], RefuseStep)
    assert "I can't find order" in plan.message
    assert acted_on(plan) == set()
    for order in (LATEST, MIDDLE, OLD):  # the recent orders are listed to choose from
        assert short_number(order.order_id) in plan.message
    assert "has shipped" not in plan.message and "is confirmed" not in plan.message


@pytest.mark.parametrize("ref", [MIDDLE.order_id, short_number(MIDDLE.order_id)])
async def test_the_full_id_or_the_short_number_shown_name_that_order(ref: str) -> None:
    refund = await plan_for(f"I'd like to return order {ref}")
    assert refund.outcome == "refund"
    assert acted_on(refund) == {MIDDLE.order_id}
    status = await plan_for(f"where is order #{ref}")
    assert status.outcome == "answer"
    assert short_number(MIDDLE.order_id) in status.message


async def test_my_last_order_is_the_latest() -> None:
    plan = await plan_for("cancel my last order")
    assert acted_on(plan) == {LATEST.order_id}


async def test_products_are_searched_across_all_orders() -> None:
    plan = await plan_for("I want to return the headphones")
    assert plan.outcome == "refund"
    assert acted_on(plan) == {OLD.order_id}


async def test_products_in_several_orders_are_asked_about() -> None:
    again = FakeShop()
    twice = MIDDLE.model_copy(update={"order_id": "0a0a0a0a-0000-4000-8000-000000000009"})
    again.order_list = [LATEST, twice, MIDDLE, OLD]
    plan = await generate_plan(parser.parse("refund the AA batteries").intent, again)
    assert plan.outcome == "clarify"
    assert isinstance(plan.steps[-1], ClarifyStep)
    assert short_number(twice.order_id) in plan.message
    assert short_number(MIDDLE.order_id) in plan.message


async def test_products_in_no_order_are_said_so() -> None:
    plan = await plan_for("return the blender please")
    assert plan.outcome == "refuse"
    assert acted_on(plan) == set()


async def test_a_refund_shows_what_goes_back_tax_included() -> None:
    taxed = Order.model_validate(
        {
            **MIDDLE.model_dump(),
            "subtotal_cents": 998,
            "tax_cents": 88,
            "shipping_cents": 500,
            "total_cents": 1586,
        }
    )
    found = FakeShop()
    found.order_list = [taxed]
    plan = await generate_plan(parser.parse("return one of the AA batteries").intent, found)
    step = next(s for s in plan.steps if isinstance(s, RefundStep))
    assert step.estimate_cents == (499 + 44)  # half the line, with half of its tax


def test_the_terminal_asks_what_approving_does() -> None:
    from assistant.terminal import question

    assert question({"action": "refund", "order_id": MIDDLE.order_id, "total_cents": 543}) == (
        "Refund $5.43 of order 51aa9b03 to your card? (y/n, or an edit)"
    )
    assert question(
        {"action": "cancel", "order_id": MIDDLE.order_id, "total_cents": 998}
    ).startswith("Cancel order 51aa9b03 and refund $9.98")
    assert "Place this order for $12.00" in question({"total_cents": 1200})


async def test_an_order_on_its_way_says_when_standard_shipping_brings_it() -> None:
    shop = FakeShop()
    coming = LATEST.model_copy(
        update={"delivery_estimate": {"earliest": "2026-12-03", "latest": "2026-12-07"}}
    )
    shop.order_list = [coming, MIDDLE, OLD]
    plan = await generate_plan(OfflineParser().parse("where is my order?").intent, shop)
    assert plan.outcome == "answer"
    assert "should arrive between Thu Dec 3 and Mon Dec 7" in plan.message, plan.message
    assert "no tracking number" in plan.message
    # an order that is not on its way has no window, and none is made up
    shop.order_list = [LATEST, MIDDLE, OLD]
    plan = await generate_plan(OfflineParser().parse("where is my order?").intent, shop)
    assert "arrive" not in plan.message, plan.message
