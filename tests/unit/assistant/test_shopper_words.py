"""A shopper's words for what the catalog names otherwise are read as the catalog's, decided
against the catalog's own words; budgets said roughly are a soft limit on the items; a budget
nothing meets is said so with the closest thing and a question, never a purchase."""

from __future__ import annotations

import pytest

from assistant.intents import Buy, Search
from assistant.llm.offline import OfflineParser
from assistant.plan import PlanContext, RefundLine, RefuseStep, generate_plan
from assistant.spelling import Speller, catalog_words
from tests.unit.assistant.shop import FakeShop

CATALOG = [
    "Paper Moon Science Fiction Paperback Novel", "Northlight Fantasy Paperback Novel",
    "AA Alkaline Batteries", "AAA Alkaline Batteries", "Everfresh Aluminum Foil",
    "Pixelridge LED Flashlight", "Cuddlebug Baby Diapers", "Saltmill Nonstick Skillet",
    "Bloomwell Color Safe Shampoo", "Canvas Sneakers", "Heavy Duty Trash Bags",
    "Cotton T-Shirt", "Garden Hose", "Kitchen Scale",
]  # fmt: skip
speller = Speller(catalog_words(CATALOG))
parser = OfflineParser()


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        # clipped compounds, hyphenated, joined or spaced: the catalog pair they begin
        ("a sci-fi paperback", "a science fiction paperback"),
        ("any scifi novels?", "any science fiction novels?"),
        ("some sci fi books", "some science fiction books"),
        # a hyphenated word the catalog writes as one
        ("a non-stick skillet", "a nonstick skillet"),
        # British spellings the catalog writes the American way
        ("aluminium foil", "aluminum foil"),
        ("colour safe shampoo", "color safe shampoo"),
        # an abbreviation's plural
        ("an 8 pack of AAs", "an 8 pack of AA"),
        ("two aaas", "two aaa"),
        # everyday names for what the catalog names otherwise
        ("a torch for camping", "a flashlight for camping"),
        ("nappies", "diapers"),
        ("white trainers", "white sneakers"),
        ("rubbish bags", "trash bags"),
    ],
)
def test_shopper_words_read_as_the_catalogs(typed: str, meant: str) -> None:
    assert speller.correct(typed).text == meant


@pytest.mark.parametrize(
    "text",
    [
        "a t-shirt and a garden hose",  # the catalog's own words stay
        "two red mugs for my mom",  # short words in a row are no clipped pair
        "a kitchen scale",
        "buy my cart",
        "hi there",
        "an e-reader",  # nothing in the catalog begins with its parts
    ],
)
def test_catalog_words_and_plain_words_stay(text: str) -> None:
    assert speller.correct(text).text == text


def test_without_a_catalog_nothing_is_renamed() -> None:
    assert Speller({}).correct("a torch and aluminium foil").text == "a torch and aluminium foil"


@pytest.mark.parametrize(
    "text",
    [
        "looking for a wireless mouse, $20ish",
        "headphones for about $50",
        "around 50 bucks for headphones",
        "headphones, roughly $50",
        "headphones ~$50",
        "headphones for $50 or so",
    ],
)
def test_a_budget_said_roughly_is_marked_approximate(text: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Buy)
    assert intent.constraints.budget_approximate
    assert intent.constraints.budget_cents in (2000, 5000)
    assert all("so" not in i.query.split() for i in intent.items)


@pytest.mark.parametrize(
    "text", ["headphones under $50", "headphones, budget $50", "headphones, max $50"]
)
def test_a_budget_said_exactly_is_a_hard_limit(text: str) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, Buy) and not intent.constraints.budget_approximate


async def test_a_rough_budget_lets_the_items_go_ten_percent_over_and_says_so() -> None:
    # the cheapest USB-C cable costs $7.99: "about $7.50" allows up to $8.25 for the items
    plan = await generate_plan(parser.parse("a usb-c cable for about $7.50").intent, FakeShop())
    assert plan.outcome == "checkout", plan.message
    assert [a.unit_price_cents for a in plan.adds] == [799]
    assert "about $7.50" in plan.message and "$8.25" in plan.message
    assert "tax and shipping are on top" in plan.message
    assert plan.budget_cents is None  # the total is the person's to approve, with the quote
    kinds = [s.kind for s in plan.steps]
    assert kinds.index("confirm") < kinds.index("initiate_checkout")


async def test_a_rough_budget_is_still_a_limit() -> None:
    plan = await generate_plan(parser.parse("a usb-c cable for about $7").intent, FakeShop())
    assert plan.outcome == "refuse" and not plan.adds
    assert "$7.70" in plan.message  # what was allowed, said


async def test_a_budget_nothing_meets_names_the_closest_and_asks() -> None:
    plan = await generate_plan(
        parser.parse("noise cancelling headphones under $50").intent, FakeShop()
    )
    refusal = plan.steps[-1]
    assert isinstance(refusal, RefuseStep) and refusal.code == "over_budget"
    assert plan.message.startswith("Nothing we carry fits your $50.00 budget")
    assert "Noise Cancelling Headphones" in plan.message and "$89.99" in plan.message
    assert "Fewer items" not in plan.message  # one item: fewer would not help
    assert plan.message.rstrip().endswith("or what else to look for.")
    assert not plan.adds


@pytest.mark.parametrize(
    "text",
    [
        "could you order four of them",  # "could" is no British "cold", "four" no "for"
        "a usb cabel",  # a misspelt word is put right, not read as clipped words
    ],
)
def test_everyday_words_are_not_renamed(text: str) -> None:
    fixed = Speller(catalog_words([*CATALOG, "Cold Brew Coffee", "Shampoo for Dogs", "Cable"]))
    assert fixed.correct(text).text == text.replace("cabel", "cable")


async def test_a_size_or_colour_question_is_answered_from_the_variants() -> None:
    intent = parser.parse("do you have the noise cancelling headphones in silver?").intent
    assert isinstance(intent, Search) and intent.attributes == {"color": "silver"}
    plan = await generate_plan(intent, FakeShop())
    assert plan.outcome == "answer" and not plan.adds
    assert "Yes: Noise Cancelling Headphones comes in silver" in plan.message
    plan = await generate_plan(
        parser.parse("does the usb-c cable come in white?").intent, FakeShop()
    )
    assert "does not come in white; it comes in colors black" in plan.message


async def test_a_size_or_colour_question_about_it_means_the_item_in_focus() -> None:
    focus = PlanContext(
        last_items=[RefundLine(sku="HP-BLA", name="Noise Cancelling Headphones, black", quantity=1)]
    )
    intent = parser.parse("do you have them in silver?").intent
    assert isinstance(intent, Search)
    plan = await generate_plan(intent, FakeShop(), focus)
    assert (
        plan.outcome == "answer" and "Noise Cancelling Headphones comes in silver" in plan.message
    )
    asked = await generate_plan(intent, FakeShop())  # nothing in focus: which one?
    assert asked.outcome == "clarify"


@pytest.mark.parametrize(
    "text", ["ok make that 4 then", "yes but only two", "yeah, 3 of them", "ok add another"]
)
def test_a_yes_with_an_edit_is_the_edit_never_an_approval(text: str) -> None:
    assert parser.parse(text, awaiting_confirmation=True).intent.kind != "confirm"


@pytest.mark.parametrize("text", ["yes please", "ok go ahead", "yes that one", "sure, place it"])
def test_a_plain_yes_is_still_a_yes(text: str) -> None:
    assert parser.parse(text, awaiting_confirmation=True).intent.kind == "confirm"
