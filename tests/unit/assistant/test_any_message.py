"""No message breaks a turn, and an order is acted on only when it is the one the person named."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.intents import (
    MAX_QUANTITY,
    Buy,
    CancelOrder,
    ChangeQuantity,
    OrderStatus,
    Refund,
    Unclear,
)
from assistant.llm.offline import OfflineParser
from assistant.plan import Order, OrderLine, Plan, RefundStep, generate_plan
from tests.unit.assistant.shop import FakeShop

parser = OfflineParser()

WORDS = st.sampled_from(
    [
        "buy", "add", "order", "refund", "cancel", "return", "my", "last", "#", "$", "under",
        "packs", "of", "AA", "batteries", "usb-c", "cable", "make", "it", "each", "cheapest",
        "dozen", "-", "x", "bucks", "where", "is", "code", "SAVE10", "yes", "no", "😀", "ñandú",
        "\u200b", "\x00", "\n", "\U0001d7d9\U0001d7da", "\u0663", "\u00bd", "1e9", "0x1F",
    ]
)  # fmt: skip
NUMBERS = st.integers(min_value=-(10**30), max_value=10**30).map(str)
MESSAGES = st.one_of(
    st.text(max_size=400),
    st.lists(st.one_of(WORDS, NUMBERS), max_size=40).map(" ".join),
    st.builds(lambda n, w: f"buy {n} {w}", NUMBERS, WORDS),
    st.builds(lambda n: f"where is order {n}", NUMBERS),
    st.builds(lambda n: f"refund ${n} from order #{n}", NUMBERS),
    st.text(min_size=5000, max_size=20000),
)


def plan_sync(text: str, shop: FakeShop) -> Plan:
    return asyncio.run(generate_plan(parser.parse(text).intent, shop))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES)
def test_any_message_gets_an_answer(text: str) -> None:
    shop = FakeShop()
    shop.order_list = [order("0d1f3a9e-0000-4000-8000-000000000001")]
    plan = plan_sync(text, shop)
    assert plan.message or plan.steps
    parsed = parser.parse(text).intent
    if isinstance(parsed, Buy):
        assert all(1 <= item.quantity <= MAX_QUANTITY for item in parsed.items)


@pytest.mark.parametrize(
    "text", ["buy 5000 AA batteries", "I need 1,000,000 usb-c cables", "make it 20000"]
)
def test_an_impossible_quantity_says_the_most_one_order_can_hold(text: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Unclear) and f"{MAX_QUANTITY:,}" in intent.question


@given(st.integers(min_value=MAX_QUANTITY + 1, max_value=10**30), st.sampled_from(
    ["AA batteries", "usb-c cables", "headphones"]
))  # fmt: skip
def test_more_than_one_order_holds_is_a_clear_answer(quantity: int, product: str) -> None:
    for text in (f"I need {quantity} {product}", f"buy {quantity:,} {product} please"):
        intent = parser.parse(text).intent
        assert isinstance(intent, Unclear), text
        assert f"at most {MAX_QUANTITY:,}" in intent.question


@given(st.integers(min_value=-(10**12), max_value=0))
def test_zero_or_negative_quantities_of_any_size_are_asked_about(quantity: int) -> None:
    intent = parser.parse(f"buy {quantity} AA batteries").intent
    assert isinstance(intent, Unclear)
    assert "How many" in intent.question


@pytest.mark.parametrize(
    "text", ["minus 3 usb-c cables", "add -2 AA batteries to my cart", "0 headphones please"]
)
def test_written_negative_and_zero_counts_are_questions(text: str) -> None:
    assert isinstance(parser.parse(text).intent, Unclear)


def test_a_change_beyond_one_order_is_a_question() -> None:
    assert isinstance(parser.parse("make it 5000").intent, Unclear)
    assert parser.parse("make it 3").intent == ChangeQuantity(quantity=3)


@pytest.mark.parametrize("text", ["buy -3 usb-c cables", "0 AA batteries please", "get zero mugs"])
def test_zero_or_negative_quantities_are_asked_about(text: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Unclear) and "How many" in intent.question


def order(order_id: str, *lines: tuple[str, str, int, int], status: str = "confirmed") -> Order:
    items = [
        OrderLine(sku=sku, name=name, quantity=quantity, unit_price_cents=price)
        for sku, name, quantity, price in lines
    ] or [
        OrderLine(
            sku="BAT-AA-4", name="AA Alkaline Batteries, 4-pack", quantity=2, unit_price_cents=499
        )
    ]
    total = sum(li.quantity * li.unit_price_cents for li in items)
    return Order(order_id=order_id, status=status, total_cents=total, lines=items)


CABLE = ("CBL-1M-BLA", "USB-C Cable, 1m, black", 1, 799)
PHONES = ("HP-BLA", "Noise Cancelling Headphones, black", 1, 8999)
LATEST_ID = "aaaa1111-0000-4000-8000-000000000003"
MIDDLE_ID = "bbbb2222-0000-4000-8000-000000000002"
OLDEST_ID = "cccc3333-0000-4000-8000-000000000001"


def three_orders() -> FakeShop:
    shop = FakeShop()
    shop.order_list = [
        order(LATEST_ID, CABLE),
        order(MIDDLE_ID, PHONES),
        order(OLDEST_ID, CABLE),
    ]  # newest first, as the BFF lists them
    return shop


@pytest.mark.parametrize(
    "text",
    [
        "where is order 12345?",
        "cancel order #1042",
        "I want a refund for order 99999",
        "please refund order dddd4444",
    ],
)
def test_a_number_that_is_none_of_the_persons_orders_is_never_another_order(text: str) -> None:
    plan = plan_sync(text, three_orders())
    assert plan.outcome == "refuse"
    assert "can't find order" in plan.message and "Your recent orders" in plan.message
    assert LATEST_ID[:8] in plan.message  # listed, not acted on
    assert not any(s.kind in ("refund", "cancel_order", "order_status") for s in plan.steps)


@pytest.mark.parametrize(
    ("text", "order_id"),
    [
        (f"where is order {MIDDLE_ID[:8]}", MIDDLE_ID),
        (f"cancel order #{OLDEST_ID[:8]}", OLDEST_ID),
        (f"status of order {OLDEST_ID}", OLDEST_ID),
        ("cancel my last order", LATEST_ID),
    ],
)
def test_the_short_number_the_full_id_and_my_last_order_resolve_exactly(
    text: str, order_id: str
) -> None:
    plan = plan_sync(text, three_orders())
    lookup = plan.steps[0]
    assert lookup.kind == "lookup_order" and lookup.order_id == order_id


def test_product_words_pick_the_order_that_holds_them_among_all_orders() -> None:
    plan = plan_sync("I want to return the headphones", three_orders())
    assert plan.outcome == "refund"
    refund = plan.steps[-1]
    assert isinstance(refund, RefundStep) and refund.order_id == MIDDLE_ID


def test_product_words_in_several_orders_ask_which() -> None:
    plan = plan_sync("return the usb-c cable", three_orders())
    assert plan.outcome == "clarify"
    assert LATEST_ID[:8] in plan.message and OLDEST_ID[:8] in plan.message
    assert plan.steps[-1].kind == "clarify"


def test_product_words_with_my_last_order_take_the_latest() -> None:
    plan = plan_sync("return the usb-c cable from my last order", three_orders())
    refund = plan.steps[-1]
    assert isinstance(refund, RefundStep) and refund.order_id == LATEST_ID


def test_product_words_no_order_holds_are_said_plainly() -> None:
    plan = plan_sync("return the flux capacitor", three_orders())
    assert plan.outcome == "refuse" and "in any of your orders" in plan.message


async def test_intents_from_any_parser_resolve_the_same_way() -> None:
    shop = three_orders()
    for intent in (
        OrderStatus(order_ref="12345"),
        CancelOrder(order_ref="nope-42"),
        Refund(order_ref="1042"),
    ):
        plan = await generate_plan(intent, shop)
        assert plan.outcome == "refuse" and "can't find order" in plan.message
