"""Typos are put right against the shop's words (its catalog and the intents' words)
before a message is read; correctly spelled words, brand names, numbers and codes stay."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant.intents import Buy, CancelOrder, Refund
from assistant.llm.offline import OfflineParser
from assistant.spelling import Speller, catalog_words, intent_speller, speller_for
from tests.unit.assistant.shop import FakeShop

CATALOG = [
    "AA Alkaline Batteries", "Voltra", "aa battery", "USB-C Cable", "Northwire", "usb-c cable",
    "Noise Cancelling Headphones", "Kestrel", "headphones", "Scented Candle", "candle",
    "Wireless Mouse", "mouse", "Paper Towels", "paper towel", "Phone Charger", "charger",
    "Cotton T-Shirt", "t-shirt", "electronics", "household",
]  # fmt: skip
speller = Speller(catalog_words(CATALOG))
parser = OfflineParser()


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("bateries for my remote", "batteries for my remote"),
        ("usbc cabel", "usb-c cable"),
        ("headphnes by Kestrel", "headphones by Kestrel"),
        ("a wireles mouse", "a wireless mouse"),
        ("paper towles", "paper towels"),
        ("chargr for my phone", "charger for my phone"),  # a letter left out: the longer word
        ("candel", "candle"),  # letters swapped: the word with the same letters
        ("3 tshirts", "3 t-shirts"),
    ],
)
def test_misspelled_product_words_are_put_right(typed: str, meant: str) -> None:
    assert speller.correct(typed).text == meant


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("cancle my order", "cancel my order"),
        ("refnd my last order", "refund my last order"),
        ("where's my ordr", "where's my order"),
        ("checkotu my cart", "checkout my cart"),
    ],
)
def test_misspelled_intent_words_are_put_right_without_a_catalog(typed: str, meant: str) -> None:
    assert intent_speller().correct(typed).text == meant


@pytest.mark.parametrize(
    "text",
    [
        "a gift for my wife",  # "wife" is a word, not a typo of "wire"
        "something for a rainy day",
        "ideas for a picnic",
        "AA batteries by Voltra, 8pk",
        "use code SAVE10 on 1000 cables",
        "AirPods or Anker, 2m, #1042",
        "hoodie sz xl grey",
    ],
)
def test_correct_words_names_numbers_and_codes_stay(text: str) -> None:
    assert speller.correct(text) == speller.correct(text).__class__(text, ())


def test_the_corrected_message_reads_as_meant() -> None:
    assert isinstance(
        parser.parse(intent_speller().correct("cancle my order").text).intent, CancelOrder
    )
    assert isinstance(parser.parse(intent_speller().correct("refnd my order").text).intent, Refund)
    bought = parser.parse(speller.correct("2 packs of AA bateries").text).intent
    assert isinstance(bought, Buy) and bought.items[0].query == "aa batteries"


async def test_a_shop_that_names_its_words_gets_its_own_speller() -> None:
    class Named(FakeShop):
        words = catalog_words(CATALOG)

        async def vocabulary(self) -> dict[str, int]:
            return dict(self.words)

    assert (await speller_for(FakeShop())) is intent_speller()
    named = await speller_for(Named())
    assert named.correct("headphnes").text == "headphones"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_is_read_and_only_letters_change(text: str) -> None:
    corrected = speller.correct(text)
    assert re.sub(r"[A-Za-z'-]+", "", corrected.text) == re.sub(r"[A-Za-z'-]+", "", text)
    for typed, meant in corrected.changes:
        assert typed.lower() != meant


def test_a_very_long_message_is_read_word_by_word() -> None:
    text = " ".join(["bateries", "cabel", "zzzzzzzzzzzzzzzzzzzz", "x" * 5000] * 200)
    corrected = speller.correct(text)
    assert corrected.text.count("batteries") == 200
