"""What a shop assistant must understand beyond buying: the cart (add without buying,
empty it, check it out), orders and charges, and requests it cannot carry out, which are
explained, never turned into a purchase or a catalog search."""

from __future__ import annotations

import pytest

from assistant.intents import (
    Buy,
    Checkout,
    EmptyCart,
    ListOrders,
    ListPromotions,
    Search,
    Unclear,
    Unsupported,
)
from assistant.llm.offline import OfflineParser
from assistant.plan import CartLine, RemoveFromCartStep, generate_plan, short_number
from tests.unit.assistant.shop import LATEST, MIDDLE, OLD, FakeShop

parser = OfflineParser()


@pytest.mark.parametrize(
    "text",
    [
        "add two packs of AA batteries to my cart",
        "put 3 usb-c cables in my cart, I'll check out later",
        "add a pair of headphones",
        "toss 2 AA batteries into the basket but don't buy it yet",
    ],
)
def test_adding_to_the_cart_is_not_buying(text: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Buy)
    assert intent.checkout is False
    assert all("check" not in i.query and "cart" not in i.query for i in intent.items)


@pytest.mark.parametrize(
    "text",
    [
        "ok check out",
        "ok let's check out",
        "check out my cart",
        "buy what's in my cart",
        "alright, proceed to checkout please",
        "place the order",
    ],
)
def test_checking_out_the_cart(text: str) -> None:
    assert isinstance(parser.parse(text).intent, Checkout)


@pytest.mark.parametrize(
    "text", ["empty my cart", "clear the basket please", "remove everything from my cart"]
)
async def test_emptying_the_cart_takes_every_line_out(text: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, EmptyCart)
    shop = FakeShop()
    shop.cart_lines = [
        CartLine(sku="BAT-AA-4", name="AA Alkaline Batteries, 4-pack", quantity=2,
                 unit_price_cents=499),
        CartLine(sku="HP-BLA", name="Noise Cancelling Headphones, black", quantity=1,
                 unit_price_cents=8999),
    ]  # fmt: skip
    plan = await generate_plan(intent, shop)
    assert plan.outcome == "cart_updated"
    assert {s.sku for s in plan.steps if isinstance(s, RemoveFromCartStep)} == {
        "BAT-AA-4",
        "HP-BLA",
    }
    empty = await generate_plan(intent, FakeShop())
    assert empty.outcome == "answer" and "already empty" in empty.message


@pytest.mark.parametrize(
    "text", ["show me my orders", "what did I order last month?", "my order history"]
)
async def test_listing_orders(text: str) -> None:
    intent = parser.parse(text).intent
    assert intent == ListOrders()
    shop = FakeShop()
    shop.order_list = [LATEST, MIDDLE, OLD]
    plan = await generate_plan(intent, shop)
    assert plan.outcome == "answer"
    assert all(short_number(o.order_id) in plan.message for o in (LATEST, MIDDLE, OLD))


@pytest.mark.parametrize(
    "text",
    [
        "was I charged twice for my last order?",
        "why was I billed $25?",
        "how much did I pay last week",
    ],
)
async def test_questions_about_charges_are_answered_from_orders(text: str) -> None:
    intent = parser.parse(text).intent
    assert intent == ListOrders(about="charges")
    shop = FakeShop()
    shop.order_list = [LATEST, MIDDLE]
    plan = await generate_plan(intent, shop)
    assert plan.outcome == "answer"
    assert "$7.99" in plan.message and "$9.98" in plan.message


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("do you sell gift cards?", "gift cards"),
        ("can I subscribe to get coffee every month", "subscriptions"),
        ("walmart has it cheaper, can you price match?", "match other shops"),
        ("can I pay in euros", "US dollars"),
        ("ship 2 AA batteries to Toronto", "United States"),
        ("quiero comprar pilas por favor", "English"),
        ("Ich möchte eine Bestellung stornieren, bitte", "English"),
        ("我想买电池", "English"),
    ],
)
async def test_unsupported_requests_are_explained(text: str, says: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Unsupported), intent
    assert says in intent.reason
    plan = await generate_plan(intent, FakeShop())
    assert plan.outcome == "refuse" and says in plan.message


@pytest.mark.parametrize(
    "text",
    [
        "what's the price of the usb-c cable",
        "how much are the headphones?",
    ],
)
def test_price_questions_are_answered_not_bought(text: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Search), intent
    assert "denver" not in intent.query and "cost" not in intent.query


def test_a_tax_question_without_a_product_is_answered() -> None:
    assert isinstance(parser.parse("how much is shipping?").intent, Unclear)


@pytest.mark.parametrize(
    ("text", "budget"),
    [
        ("a usb-c cable, twenty bucks max", 2000),
        ("AA batteries for $20ish", 2000),
        ("headphones under a hundred dollars", 10000),
        ("two usb-c cables, no more than forty-five dollars", 4500),
    ],
)
def test_money_in_words_and_slang(text: str, budget: int) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Buy), intent
    assert intent.constraints.budget_cents == budget


@pytest.mark.parametrize(
    "text",
    [
        "which shampoo is the cheapest?",
        "is the wooden train set ok for a 2 year old?",
        "are the usb-c cables any good?",
    ],
)
def test_questions_about_products_are_never_purchases(text: str) -> None:
    assert isinstance(parser.parse(text).intent, Search)


@pytest.mark.parametrize("text", ["has the blender shipped yet?", "when will my stuff arrive"])
def test_delivery_questions_are_order_status(text: str) -> None:
    from assistant.intents import OrderStatus

    assert isinstance(parser.parse(text).intent, OrderStatus)


def test_what_the_person_rules_out_is_no_product_word() -> None:
    intent = parser.parse("cheapest AA batteries. NOT AAA, they never work").intent
    assert isinstance(intent, Buy)
    assert intent.items[0].query == "aa batteries" and intent.items[0].cheapest


async def test_one_thing_not_carried_among_several_is_said_and_left_out() -> None:
    plan = await generate_plan(
        parser.parse("buy 2 AA batteries and a flux capacitor").intent, FakeShop()
    )
    assert plan.outcome == "checkout"
    assert "We don't carry flux capacitor" in plan.message


@pytest.mark.parametrize(
    "text",
    [
        "what discounts are on right now?",
        "any deals going on?",
        "do you have any promo codes",
        "are there sales running this week?",
        "which coupons can I use?",
    ],
)
async def test_promotions_on_offer_are_listed_from_the_shop(text: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, ListPromotions), intent
    shop = FakeShop()
    plan = await generate_plan(intent, shop)
    assert plan.outcome == "answer" and [s.kind for s in plan.steps] == ["lookup_promotions"]
    assert "10% off orders of $20 or more (code SAVE10)" in plan.message
    assert "10% off outdoors (applied by itself)" in plan.message
    shop.running = []
    assert "no promotions" in (await generate_plan(intent, shop)).message


@pytest.mark.parametrize("text", ["apply coupon SAVE10", "use the code SAVE10 on my cart"])
def test_a_coupon_given_is_applied_not_a_question_about_promotions(text: str) -> None:
    assert not isinstance(parser.parse(text).intent, ListPromotions)


async def test_a_purchase_of_what_the_cart_already_holds_says_how_many_the_order_has() -> None:
    shop = FakeShop()
    shop.cart_lines = [
        CartLine(sku="BAT-AA-4", name="AA Alkaline Batteries, 4-pack", quantity=2,
                 unit_price_cents=499),
    ]  # fmt: skip
    plan = await generate_plan(parser.parse("buy a pack of AA batteries").intent, shop)
    said = " ".join([plan.message, *plan.notes])
    assert "already holds 2 x AA Alkaline Batteries, 4-pack, so this order has 3" in said, said


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("send a desk lamp to my office in Denver", "Denver, CO"),
        ("ship two AA batteries to my mom", "my mom"),
        ("could you deliver a usb-c cable to work", "work"),
        ("send the headphones over to my sister please", "my sister"),
    ],
)
def test_a_purchase_for_another_place_or_person_is_explained_not_sent_home(
    text: str, names: str
) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Unsupported), intent
    assert "address saved on your account" in intent.reason and names in intent.reason


@pytest.mark.parametrize(
    "text",
    [
        "buy 2 aa batteries and ship them home",
        "buy batteries, send to my home address",
        "buy a usb-c cable and send it to me",
    ],
)
def test_home_is_not_another_place_nor_a_product(text: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Buy), intent
    assert all(w not in i.query for i in intent.items for w in ("address", "home", "me"))
