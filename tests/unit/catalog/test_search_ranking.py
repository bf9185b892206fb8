"""The search's pure parts: words, typo closeness, the kind of thing a query names, and
fusion with the type guard and the verdict."""

from __future__ import annotations

from commerce.catalog.search import Candidate, ProductTypes, Query, close, name_head, rank, words

TYPES = ProductTypes(
    {
        "p-run": "running shoes",
        "p-dress": "sandals",
        "p-shorts": "pants",
        "p-mug": "travel mug",
        "p-coffee": "ground coffee",
        "p-case": "phone case",
        "p-pencase": "school supplies",
        "p-dogtoy": "pet accessories",
        "p-bear": "toys",
        "p-bubbles": "party supplies",
    },
    {
        "p-run": "Fleetfoot Running Shoes",
        "p-dress": "Stridewell Dress Shoes, Black",
        "p-shorts": "Threadline Running Shorts",
        "p-mug": "Kettleworks Travel Mug 16 oz",
        "p-coffee": "Blue Kettle Coffee, Ground",
        "p-case": "Shellguard Clear Phone Case",
        "p-pencase": "Scribe Pencil Case",
        "p-dogtoy": "Pawfield Dog Toy",
        "p-bear": "Jolly Yak Plush Bear",
        "p-bubbles": "Tiny Giants Mini Bubble Machine",
    },
)


def candidates(*ids: str) -> dict[str, Candidate]:
    return {i: Candidate(i, i, "c", 100 * n, 100 * n) for n, i in enumerate(ids, 1)}


def test_words_are_plain_and_singular() -> None:
    assert words("Running Shoes") == ["running", "shoe"]
    assert words("Batteries, café mugs & boxes") == ["battery", "cafe", "mug", "box"]
    assert words("glass") == ["glass"]


def test_a_name_ends_on_its_noun() -> None:
    assert name_head("Trailhead 2-Person Camping Tent, Green") == "tent"
    assert name_head("Kettleworks Coffee Mug 12 oz") == "mug"
    assert name_head("Stridewell Dress Shoes (Men's)") == "shoe"


def test_close_allows_one_typo_in_longer_words_only() -> None:
    assert close("headphone", "headphnoe")  # swapped letters
    assert close("shoe", "shoe")
    assert not close("shoe", "shoo")  # too short to guess
    assert close("sneaker", "sneakr")
    assert not close("shoe", "short")
    assert not close("candle", "handle")  # first letters differ


def test_query_names_the_rightmost_head_noun_of_its_first_clause() -> None:
    shoes = TYPES.named_by("dress shoes size 10")
    assert shoes is not None and shoes.head == "shoe"
    assert shoes.products == {"p-run", "p-dress"} and shoes.types == ("running shoes", "sandals")
    mug = TYPES.named_by("coffee mug for dad")
    assert mug is not None and mug.products == {"p-mug"}
    toy = TYPES.named_by("dog toy")
    assert toy is not None and toy.products == {"p-dogtoy", "p-bear"}  # "toys" is a type
    typo = TYPES.named_by("travel mgu")
    assert typo is None  # three letters: too short to guess
    assert TYPES.named_by("runing shoes") is not None
    assert TYPES.named_by("something to keep coffee hot") is None
    assert TYPES.named_by("grand piano") is None


def test_type_guard_puts_the_named_kind_first() -> None:
    result = rank(
        Query(q="shoes"),
        TYPES,
        lexical=[("p-shorts", False, 0.5)],
        semantic=[("p-shorts", 0.8), ("p-run", 0.6), ("p-mug", 0.1)],
        candidates=candidates("p-shorts", "p-run", "p-mug"),
    )
    assert [h.product_id for h in result.hits] == ["p-run", "p-shorts"]  # mug under the floor
    assert result.match == "matched" and result.query_types == ("running shoes", "sandals")
    assert result.hits[0].semantic_rank == 2 and result.hits[1].lexical_rank == 1


def test_verdicts() -> None:
    related = rank(
        Query(q="something to keep coffee hot"),
        TYPES,
        lexical=[],
        semantic=[("p-mug", 0.7), ("p-coffee", 0.6)],
        candidates=candidates("p-mug", "p-coffee"),
    )
    assert related.match == "related" and related.hits[0].product_id == "p-mug"
    absent = rank(
        Query(q="grand piano"),
        TYPES,
        lexical=[("p-case", False, 0.4)],
        semantic=[("p-case", 0.4), ("p-pencase", 0.3)],
        candidates=candidates("p-case", "p-pencase"),
    )
    assert absent.match == "none" and absent.hits == [] and absent.total == 0
    assert [h.product_id for h in absent.nearest] == ["p-case", "p-pencase"]
    typo_of_a_name = rank(
        Query(q="shelguard"),
        TYPES,
        lexical=[("p-case", False, 0.85)],
        semantic=[],
        candidates=candidates("p-case"),
    )
    assert typo_of_a_name.match == "matched"
    brand = rank(
        Query(q="kettleworks mug"),
        TYPES,
        lexical=[("p-mug", True, 0.5)],
        semantic=[],
        candidates=candidates("p-mug"),
    )
    assert brand.match == "matched"
    only_in_a_description = rank(
        Query(q="refrigerator"),
        TYPES,
        lexical=[("p-coffee", True, 0.2)],  # full text found it: "refrigerate after opening"
        semantic=[("p-coffee", 0.42)],
        candidates=candidates("p-coffee"),
    )
    assert only_in_a_description.match == "none"
    in_name_type_and_brand = rank(
        Query(q="shellguard phone case"),
        TYPES,
        lexical=[("p-case", True, 0.7)],
        semantic=[],
        candidates={"p-case": Candidate("p-case", "Clear Case", "c", 1, 1, "Shellguard")},
    )
    assert in_name_type_and_brand.match == "matched"


def test_a_kind_with_a_qualifier_none_of_it_has_is_not_carried() -> None:
    # "washing" is no word of this small catalog: taken for a typo or another word
    washing = TYPES.named_by("washing machine")
    assert washing is not None and washing.head == "machine" and washing.unknown == ()
    running = TYPES.named_by("running machine")  # "running" is a word of the catalog
    assert running is not None and running.unknown == ("running",)
    assert TYPES.named_by("runing shoes") == TYPES.named_by("running shoes")
    assert (TYPES.named_by("running shoes") or running).unknown == ()
    not_carried = rank(
        Query(q="running machine"),
        TYPES,
        lexical=[("p-bubbles", False, 0.53)],
        semantic=[("p-bubbles", 0.55), ("p-run", 0.5)],
        candidates=candidates("p-bubbles", "p-run"),
    )
    assert not_carried.match == "none"
    assert [h.product_id for h in not_carried.nearest] == ["p-bubbles", "p-run"]
    close_in_meaning = rank(
        Query(q="running machine"),
        TYPES,
        lexical=[],
        semantic=[("p-bubbles", 0.65)],
        candidates=candidates("p-bubbles"),
    )
    assert close_in_meaning.match == "related"
    unknown_word = rank(  # "fizzy" is nowhere in the catalog: a typo or another word
        Query(q="fizzy machine"),
        TYPES,
        lexical=[("p-bubbles", False, 0.5)],
        semantic=[("p-bubbles", 0.4)],
        candidates=candidates("p-bubbles"),
    )
    assert unknown_word.match == "matched"


def test_sorted_by_price_keeps_only_the_named_kind_and_pages() -> None:
    result = rank(
        Query(q="shoes", sort="price_desc", limit=1, offset=1),
        TYPES,
        lexical=[("p-run", True, 1.0), ("p-dress", True, 0.9), ("p-shorts", True, 0.7)],
        semantic=[],
        candidates=candidates("p-run", "p-dress", "p-shorts"),
    )
    assert result.total == 2 and [h.product_id for h in result.hits] == ["p-run"]


def test_a_product_named_by_its_id_or_sku_comes_first_and_is_matched() -> None:
    # "shoes" would put the shoes first; the query is the mug's SKU, so the mug leads
    result = rank(
        Query(q="shoes"),
        TYPES,
        exact=["p-mug"],
        lexical=[("p-run", True, 0.9)],
        semantic=[("p-run", 0.8), ("p-dress", 0.7)],
        candidates=candidates("p-run", "p-dress", "p-mug"),
    )
    assert [h.product_id for h in result.hits] == ["p-mug", "p-run", "p-dress"]
    assert result.match == "matched"
    # a code no ranking found anything for is still answered with its product
    alone = rank(
        Query(q="MUG-12OZ-WHI"), TYPES, exact=["p-mug"], lexical=[], semantic=[],
        candidates=candidates("p-mug"),
    )  # fmt: skip
    assert [h.product_id for h in alone.hits] == ["p-mug"] and alone.match == "matched"
