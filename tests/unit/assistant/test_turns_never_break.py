"""No message breaks a turn: arbitrary text, numbers of any size and sign, unicode and very
long messages are read and planned against an in-memory shop; the answer is always a plan,
and an impossible quantity is answered with a question, never a purchase."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assistant.intents import MAX_QUANTITY, Buy, ChangeQuantity, Unclear
from assistant.llm.offline import OfflineParser
from assistant.plan import Plan, generate_plan
from tests.unit.assistant.test_plan import FakeShop
from tests.unit.assistant.test_plan import _order as a_past_order

parser = OfflineParser()

WORDS = st.sampled_from(
    [
        "buy", "order", "add", "cart", "AA", "batteries", "cable", "usb-c", "refund", "return",
        "cancel", "my", "last", "#", "$", "bucks", "dozen", "-", "x", "pack", "of", "under",
        "make it", "yes", "no", "where is", "status", "each", "🙂", "café", "数量", "\u0000",
        "\n", "order #", "packs of", "minus",
    ]
)  # fmt: skip
NUMBERS = st.integers(min_value=-(10**40), max_value=10**40).map(str)
MESSAGES = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(WORDS, NUMBERS), min_size=1, max_size=40).map(" ".join),
    st.builds(lambda n, w: f"{w} {n} {w}", NUMBERS, WORDS),
    st.text(alphabet=st.characters(codec="utf-8"), min_size=2000, max_size=6000),
)


def turn(text: str) -> Plan:
    shop = FakeShop()
    shop.order_list = [a_past_order()]
    parsed = parser.parse(text)
    return asyncio.run(generate_plan(parsed.intent, shop))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(MESSAGES)
def test_any_message_gets_an_answer(text: str) -> None:
    plan = turn(text)
    assert plan.message or plan.steps
    parsed = parser.parse(text).intent
    if isinstance(parsed, Buy):
        assert all(1 <= item.quantity <= MAX_QUANTITY for item in parsed.items)


@given(st.integers(min_value=MAX_QUANTITY + 1, max_value=10**30), st.sampled_from(
    ["AA batteries", "usb-c cables", "headphones"]
))  # fmt: skip
def test_more_than_one_order_holds_is_a_clear_answer(quantity: int, product: str) -> None:
    for text in (f"I need {quantity} {product}", f"buy {quantity:,} {product} please"):
        intent = parser.parse(text).intent
        assert isinstance(intent, Unclear), text
        assert f"at most {MAX_QUANTITY}" in intent.question


@given(st.integers(min_value=-(10**12), max_value=0))
def test_zero_or_negative_quantities_are_asked_about(quantity: int) -> None:
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
