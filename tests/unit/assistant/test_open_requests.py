"""An open request ("a gift for my dad under $40", "something for a rainy day", "ideas for a
picnic") is answered with a few of the catalog's best sellers for it, in stock and within
the budget, in one message that ends with a question: never a purchase."""

from __future__ import annotations

import pytest

from assistant.intents import Unclear
from assistant.llm.offline import OfflineParser
from assistant.plan import Product, Variant, generate_plan
from tests.unit.assistant.shop import FakeShop

parser = OfflineParser()


def product(
    pid: str, name: str, price: int, rating: float, reviews: int, stock: int = 50
) -> Product:
    return Product(
        product_id=pid, name=name, brand="Acme", min_price_cents=price, rating=rating,
        review_count=reviews, product_type=name.lower(),
        variants=[Variant(sku=pid.upper(), name=name, price_cents=price, available=stock)],
    )  # fmt: skip


def picnic_shop() -> FakeShop:
    shop = FakeShop()
    for p in (
        product("p-blanket", "Picnic Blanket", 2499, 4.6, 40),
        product("p-cooler", "Picnic Cooler", 1999, 4.5, 3000),
        product("p-basket", "Picnic Basket", 6499, 4.9, 800),  # over a $40 budget
        product("p-plates", "Picnic Plates", 899, 4.8, 500, stock=0),  # none left
        product("p-wine", "Picnic Wine Glasses", 1299, 3.1, 12),
        product("p-gift", "Gift Mug", 1599, 4.4, 300),
        product("p-gift-set", "Gift Whisky Stones", 2999, 4.7, 900),
    ):
        shop.products[p.product_id] = p
    return shop


@pytest.mark.parametrize(
    ("text", "suggest", "budget"),
    [
        ("a gift for my dad under $40", "dad", 4000),
        ("something for a rainy day", "rainy day", None),
        ("ideas for a picnic", "picnic", None),
        ("any ideas for a housewarming present? max 30 bucks", "housewarming", 3000),
        ("what should I get my sister for her birthday", "sister birthday", None),
        ("I need some stuff for camping", "camping", None),
    ],
)
def test_an_open_request_says_what_it_is_for(text: str, suggest: str, budget: int | None) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Unclear), intent
    assert intent.suggest == suggest and intent.budget_cents == budget


@pytest.mark.parametrize("text", ["a charger for my phone", "I want something", "get me a gift"])
def test_a_named_thing_or_nothing_to_go_on_is_no_open_request(text: str) -> None:
    intent = parser.parse(text).intent
    assert not (isinstance(intent, Unclear) and intent.suggest), intent


async def test_best_sellers_in_stock_within_the_budget_then_one_question() -> None:
    plan = await generate_plan(parser.parse("ideas for a picnic under $40").intent, picnic_shop())
    assert plan.outcome == "clarify" and [s.kind for s in plan.steps] == ["clarify"]
    lines = [line for line in plan.message.splitlines() if line.startswith("- ")]
    # the best seller first; the basket is over the budget and the plates are sold out
    assert [line.split(" by ")[0] for line in lines] == [
        "- Picnic Cooler",
        "- Picnic Blanket",
        "- Picnic Wine Glasses",
    ]
    assert "under $40.00" in plan.message and plan.message.rstrip().endswith("?")


async def test_a_gift_for_someone_is_looked_for_among_gifts() -> None:
    plan = await generate_plan(parser.parse("a gift for my dad under $40").intent, picnic_shop())
    assert plan.outcome == "clarify"
    assert "for your dad" in plan.message and "Gift Whisky Stones" in plan.message
    assert "What is your dad into?" in plan.message


async def test_nothing_found_is_just_the_question() -> None:
    plan = await generate_plan(parser.parse("something for a rainy day").intent, FakeShop())
    assert plan.outcome == "clarify" and "- " not in plan.message
    assert plan.message == "What kind of thing should I look for?"


async def test_with_no_match_the_ideas_are_what_is_close_in_meaning() -> None:
    class Semantic(FakeShop):
        """A shop whose search reads "rainy day" as no match and names what is close."""

        def related(self, query: str) -> list[Product]:
            return [
                product("p-umbrella", "Umbrella", 1999, 4.5, 700),
                product("p-poncho", "Rain Poncho", 12999, 4.8, 900),  # over the budget
            ]

    plan = await generate_plan(
        parser.parse("something for a rainy day under $50").intent, Semantic()
    )
    assert plan.outcome == "clarify"
    assert "- Umbrella by Acme, $19.99" in plan.message and "Poncho" not in plan.message
