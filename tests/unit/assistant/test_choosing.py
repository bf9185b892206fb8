"""Choosing among equally good matches like a careful person, and reading the words around
the thing a person asks for (pure logic over an in-memory shop)."""

from __future__ import annotations

import asyncio

import pytest

from assistant.intents import Buy, Unclear
from assistant.llm import AsyncOffline
from assistant.llm.offline import OfflineParser
from assistant.nodes.plan_generator import answer_to_question
from assistant.plan import ChooseVariantStep, Plan, PlanContext, Product, Variant, generate_plan
from assistant.state import AssistantContext
from tests.unit.assistant.shop import FakeShop

parser = OfflineParser()


def product(
    product_id: str,
    name: str,
    prices: dict[str, int],
    *,
    kind: str = "aa battery",
    reviews: int = 10,
    rating: float = 4.5,
    stock: int = 100,
) -> Product:
    """A product with one variant per pack count (`prices`: pack count -> cents)."""
    return Product(
        product_id=product_id, name=name, brand=name.split()[0], product_type=kind,
        min_price_cents=min(prices.values()), rating=rating, review_count=reviews,
        variants=[
            Variant(sku=f"{product_id}-{pack}", name=f"{name}, {pack}-pack", price_cents=cents,
                    attributes={"pack_count": pack}, available=stock)
            for pack, cents in prices.items()
        ],
    )  # fmt: skip


def shop_of(*products: Product) -> FakeShop:
    shop = FakeShop()
    shop.products = {p.product_id: p for p in products}
    return shop


def plan_for(text: str, shop: FakeShop) -> Plan:
    return asyncio.run(generate_plan(parser.parse(text).intent, shop))


def chosen(plan: Plan) -> list[str]:
    return [s.sku for s in plan.steps if isinstance(s, ChooseVariantStep)]


BEST_SELLER = product("best", "Voltra AA Batteries", {"4": 499, "8": 939}, reviews=5000)
OBSCURE = product("obscure", "Corevolt AA Batteries", {"4": 399, "8": 799}, reviews=3)
LIGHTNING = product(
    "lightning", "Northwire USB-C Lightning Cable", {"1": 999}, kind="lightning cable",
    reviews=9000,
)  # fmt: skip
USB_C = product("usbc", "Gripline USB-C Cable", {"1": 899}, kind="usb-c cable", reviews=20)


def test_among_equal_matches_the_best_seller_is_chosen() -> None:
    plan = plan_for("buy a 4-pack of AA batteries", shop_of(OBSCURE, BEST_SELLER))
    assert chosen(plan) == ["best-4"]


def test_the_asked_kind_comes_before_a_best_seller_of_another_kind() -> None:
    plan = plan_for("buy a usb-c cable", shop_of(LIGHTNING, USB_C))
    assert chosen(plan) == ["usbc-1"]


def test_the_cheapest_is_the_cheapest_in_stock_of_the_kind() -> None:
    sold_out = product("gone", "Sonique AA Batteries", {"4": 299}, stock=0)
    plan = plan_for("the cheapest AA batteries", shop_of(BEST_SELLER, OBSCURE, sold_out))
    assert chosen(plan) == ["obscure-4"]


def test_the_biggest_pack_is_the_largest_count() -> None:
    plan = plan_for("the biggest pack of AA batteries", shop_of(BEST_SELLER))
    assert chosen(plan) == ["best-8"]


def test_a_best_seller_out_of_stock_gives_way_to_the_next_of_the_kind() -> None:
    sold_out = product("best", "Voltra AA Batteries", {"4": 499}, reviews=5000, stock=0)
    plan = plan_for("buy a 4-pack of AA batteries", shop_of(sold_out, OBSCURE))
    assert chosen(plan) == ["obscure-4"] and plan.outcome == "checkout"


def test_no_substitutions_offers_the_other_product_by_name() -> None:
    sold_out = product("best", "Voltra AA Batteries", {"4": 499}, reviews=5000, stock=0)
    plan = plan_for("buy a 4-pack of AA batteries, no substitutions", shop_of(sold_out, OBSCURE))
    assert plan.outcome == "clarify" and "Corevolt AA Batteries, 4-pack" in plan.message


def test_over_budget_the_cheaper_product_of_the_kind_that_fits_is_taken() -> None:
    plan = plan_for("two 8-packs of AA batteries, under $17", shop_of(BEST_SELLER, OBSCURE))
    assert chosen(plan) == ["obscure-8"] and plan.outcome == "checkout"


def test_a_named_product_is_never_swapped_for_a_cheaper_one() -> None:
    plan = plan_for("the Voltra AA Batteries 8-pack, under $8", shop_of(BEST_SELLER, OBSCURE))
    assert plan.outcome == "refuse" and chosen(plan) != ["obscure-8"]


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("kan i get sum dog treats for my puppy", "dog treats"),
        ("2 bath towels (grey if you have them)", "bath towels"),
        ("need a hoodie sz xl grey nothing fancy", "hoodie"),
        ("Need twenty manila envelopes for work, letter size.", "manila envelopes"),
        ("I'm missing a few basics: a shower curtain", "shower curtain"),
    ],
)
def test_words_around_the_thing_are_not_product_words(text: str, query: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Buy) and intent.items[0].query == query


def test_measures_sizes_and_pairs_are_read_as_such() -> None:
    bags = parser.parse("biggest pack of 13 gallon trash bags").intent
    assert isinstance(bags, Buy)
    assert bags.items[0].attributes == {"measure": "13 gallon"} and bags.items[0].largest
    puzzles = parser.parse("order 2 jigsaw puzzles, 1000 pieces").intent
    assert isinstance(puzzles, Buy) and puzzles.items[0].quantity == 2
    assert puzzles.items[0].attributes == {"measure": "1000 pieces"}
    shoes = parser.parse("a pair of white canvas sneakers, women's size 7.5").intent
    assert isinstance(shoes, Buy) and shoes.items[0].quantity == 1
    assert shoes.items[0].attributes == {"size": "7.5", "color": "white"}


def test_bare_words_that_name_nothing_get_one_question() -> None:
    plan = plan_for("lorem ipsum dolor", shop_of(BEST_SELLER))
    assert plan.outcome == "clarify"
    refused = plan_for("I want a hot tub", shop_of(BEST_SELLER))
    assert refused.outcome == "refuse" and "don't carry" in refused.message


def test_another_currency_is_explained() -> None:
    intent = parser.parse("rain jacket under 50 quid").intent
    assert not isinstance(intent, Buy | Unclear) and "USD" in intent.model_dump_json()


class AllWordsShop(FakeShop):
    """A shop whose search, like the catalog's, matches products holding every word."""

    async def search(
        self, query: str, *, max_price_cents: int | None = None, limit: int = 10
    ) -> list[Product]:
        words = {w.rstrip("s") for w in query.lower().split()}
        return [
            p
            for p in self.products.values()
            if words <= {w.rstrip("s") for w in p.name.lower().split()}
        ][:limit]


class KindsShop(AllWordsShop):
    """...and says which product types a query names."""

    def kinds(self, query: str) -> list[str]:
        return [p.product_type for p in self.products.values() if "batteries" in query]


def test_a_request_wrapped_in_other_words_is_searched_for_the_kind_it_names() -> None:
    wrapped = "wobbly aa batteries thingamajig"
    kinds, words_only = KindsShop(), AllWordsShop()
    kinds.products = words_only.products = {BEST_SELLER.product_id: BEST_SELLER}
    assert chosen(plan_for(wrapped, kinds)) == ["best-4"]
    assert chosen(plan_for(wrapped, words_only)) == []  # without the narrower search


def answer(first: str, then: str, shop: FakeShop, about: str) -> Plan:
    """The plan for `then`, said after the assistant answered `first` with a question or a
    refusal about `about`."""
    parser_ = AsyncOffline()

    async def go() -> Plan:
        intent = (await parser_.parse(then)).intent
        plan = await generate_plan(intent, shop)
        context = AssistantContext(commerce=shop, parser=parser_)  # type: ignore[arg-type]
        asked = {"text": first, "about": about}
        return await answer_to_question(asked, then, intent, plan, context, PlanContext())

    return asyncio.run(go())


def test_another_budget_after_an_over_budget_answer_asks_the_same_again() -> None:
    shop = shop_of(BEST_SELLER)
    first = "two 8-packs of AA batteries, under $10"
    assert plan_for(first, shop).outcome == "refuse"
    again = answer(first, "ok what about under $25 then", shop, "budget")
    assert chosen(again) == ["best-8"] and again.budget_cents == 2500


def test_an_answer_without_a_word_of_wanting_completes_the_question_asked() -> None:
    shop = shop_of(BEST_SELLER, USB_C, LIGHTNING)
    completed = answer("get me a cable", "the usb-c kind, for my phone", shop, "ambiguous")
    (choice,) = [s for s in completed.steps if isinstance(s, ChooseVariantStep)]
    assert choice.sku == "usbc-1" and {"usb-c", "cable"} <= set(choice.query.split())
