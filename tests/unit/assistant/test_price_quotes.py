"""A question about what things would cost with tax and shipping, to a place or to the
person's address, is answered with a quote of those items: nothing is added to the cart
and nothing is bought, whatever the cart holds."""

from __future__ import annotations

from typing import Any, cast

import pytest
from langgraph.runtime import Runtime

from assistant.intents import Buy, Place, PriceQuote, Search, Unclear, Unsupported
from assistant.llm import AsyncOffline
from assistant.llm.offline import OfflineParser
from assistant.nodes.plan_executor import plan_executor, quote_address
from assistant.places import find_place
from assistant.plan import CartLine, PriceLinesStep, generate_plan
from assistant.state import AssistantContext
from tests.unit.assistant.shop import FakeShop

parser = OfflineParser()
HOME = {
    "name": "Alice Martin", "line1": "1 Main St", "city": "San Francisco", "region": "CA",
    "postal_code": "94105", "country": "US",
}  # fmt: skip


@pytest.mark.parametrize(
    ("text", "query", "quantity", "place"),
    [
        ("what would the headphones cost shipped to Denver, CO?", "headphones", 1,
         Place(city="Denver", region="CO")),
        ("how much is shipping to 94103 for two of the usb-c cables?", "usb-c cables", 2,
         Place(region="CA", postal_code="94103")),
        ("How much tax would I pay on 3 AA batteries in Texas", "aa batteries", 3,
         Place(region="TX")),
        ("what's the total for a usb-c cable delivered to Seattle?", "usb-c cable", 1,
         Place(city="Seattle", region="WA")),
        ("what would 2 packs of AA batteries come to, shipped to Austin, TX 78701?",
         "aa batteries", 2, Place(city="Austin", region="TX", postal_code="78701")),
        ("how much would the headphones be with tax and shipping?", "headphones", 1, None),
    ],
)  # fmt: skip
def test_a_cost_question_is_a_quote_of_its_items_for_its_place(
    text: str, query: str, quantity: int, place: Place | None
) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, PriceQuote), intent
    assert [(i.query, i.quantity) for i in intent.items] == [(query, quantity)]
    assert intent.ship_to == place


def test_places_read_down_to_their_state() -> None:
    assert find_place("ship it to my sister in Boise, ID please") == (
        Place(city="Boise", region="ID"),
        (24, 33),
    )
    found = find_place("send it to zip 10001")
    assert found is not None and found[0] == Place(region="NY", postal_code="10001")
    assert find_place("in 2 days") is None
    assert find_place("order 12345 please") is None  # a number that is no ZIP after "to"


def test_a_price_alone_and_a_purchase_are_not_quotes() -> None:
    assert isinstance(parser.parse("what's the price of the usb-c cable").intent, Search)
    assert isinstance(parser.parse("buy a usb-c cable and ship it home").intent, Buy)
    assert isinstance(parser.parse("how much is shipping?").intent, Unclear)


async def test_the_plan_prices_the_items_and_never_touches_the_cart() -> None:
    shop = FakeShop()
    shop.cart_lines = [CartLine(sku="HP-BLA", name="Headphones", quantity=1, unit_price_cents=8999)]
    intent = parser.parse("how much is shipping to 94103 for two of the usb-c cables?").intent
    plan = await generate_plan(intent, shop)
    assert plan.outcome == "answer"
    kinds = [s.kind for s in plan.steps]
    assert kinds[-1] == "price_lines"
    assert not {"add_to_cart", "quote", "confirm", "initiate_checkout"} & set(kinds)
    step = plan.steps[-1]
    assert isinstance(step, PriceLinesStep)
    assert [(li.sku, li.quantity) for li in step.lines] == [("CBL-1M-BLA", 2)]  # not the cart's


async def answer(shop: FakeShop, text: str, address: dict[str, Any] | None = HOME) -> str:
    plan = await generate_plan(parser.parse(text).intent, shop)
    context = AssistantContext(commerce=cast(Any, shop), parser=AsyncOffline())
    state: dict[str, Any] = {"plan": plan.model_dump(mode="json"), "address": address}
    done = await plan_executor(cast(Any, state), Runtime(context=context))
    assert done["status"] == "idle" and not done.get("pending")
    return "\n".join(done["replies"])


async def test_the_answer_is_the_shops_quote_for_that_place() -> None:
    shop = FakeShop()
    said = await answer(shop, "what would two usb-c cables cost shipped to Seattle, WA?")
    (lines, address), *_ = shop.quoted
    assert lines == [("CBL-1M-BLA", 2)] and address["region"] == "WA"
    # 2 x 7.99 = 15.98; WA 6.5 % = 1.04; shipping 5.99; total 23.01
    assert "Shipped to Seattle, WA" in said
    assert "Subtotal $15.98, tax $1.04, shipping $5.99" in said and "Total $23.01" in said
    assert "nothing was bought or added to your cart" in said


async def test_without_a_place_the_saved_address_is_quoted() -> None:
    shop = FakeShop()
    said = await answer(shop, "how much would the headphones be with tax and shipping?")
    assert shop.quoted[0][1] == HOME
    assert "tax $6.52" in said  # 89.99 at California's 7.25 %
    no_address = await answer(FakeShop(), "how much would the headphones be with tax?", {})
    assert "city and state or a ZIP code" in no_address


async def test_a_place_the_shop_does_not_serve_is_said_plainly() -> None:
    said = await answer(FakeShop(), "what would the headphones cost shipped to Denver, CO?")
    assert "I can't quote shipping to Denver, CO" in said and "US-CO" in said
    assert "Nothing was bought" in said


def test_a_quote_address_is_the_place_or_the_saved_one() -> None:
    assert quote_address(None, HOME) == HOME
    assert quote_address(None, {}) is None
    made = quote_address(Place(city="Denver", region="CO"), HOME)
    assert made is not None and (made["city"], made["region"], made["country"]) == (
        "Denver",
        "CO",
        "US",
    )


def test_a_purchase_to_another_place_is_explained_not_bought_for_home() -> None:
    intent = parser.parse("buy a usb-c cable and ship it to Denver, CO").intent
    assert isinstance(intent, Unsupported), intent
    assert "Denver, CO" in intent.reason and "address saved on your account" in intent.reason
    assert isinstance(parser.parse("buy a usb-c cable and ship it home").intent, Buy)


@pytest.mark.parametrize(
    "text",
    [
        "Pick up olive oil and a usb-c cable for me. Keep it under $20 including shipping.",
        "2 usb-c cables under $30 with tax and shipping",
        "I'd like the headphones, total with tax no more than $100",
    ],
)
def test_a_request_with_a_budget_including_tax_or_shipping_is_a_purchase(text: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Buy), intent
    assert intent.constraints.budget_cents is not None
