"""Labels from rules and the relevance figures (pure functions)."""

from __future__ import annotations

import pytest

from evals.search.judge import Answer, Judged, Product, labels, load, ndcg, recall, score

PRODUCTS = [
    Product("a", "t-shirt", {"color": frozenset({"black", "white"})}),
    Product("b", "t-shirt", {"color": frozenset({"red"})}),
    Product("c", "tank top", {}),
    Product("d", "mug", {}),
    Product("e", "garden tools", {}, "Terra Tools Lawn Mowers 21 in"),
    Product("f", "garden tools", {}, "Terra Tools Rake"),
]


def test_labels_follow_types_attributes_and_names() -> None:
    black = Judged("1", "black tee", "attribute", "dev", types=("t-shirt",),
                   related=("tank top",), attributes={"color": "Black"})  # fmt: skip
    assert labels(black, PRODUCTS) == {"a": 2, "b": 1, "c": 1}
    named = Judged("2", "the red one", "name", "dev", product="b")
    assert labels(named, PRODUCTS) == {"b": 2, "a": 1}
    assert labels(Judged("3", "piano", "absent", "dev", absent=True), PRODUCTS) == {}
    mower = Judged("4", "lawn mower", "type", "dev", names=("lawn mower",))
    assert labels(mower, PRODUCTS) == {"e": 2}


def test_ndcg_and_recall() -> None:
    grades = {"a": 2, "b": 1}
    assert ndcg(["a", "b"], grades) == pytest.approx(1.0)
    assert ndcg(["b", "a"], grades) < 1.0
    assert ndcg(["d"], grades) == 0.0
    assert recall(["x", "a"], grades) == 0.5


def test_score_counts_none_verdicts() -> None:
    judged = [
        Judged("1", "tee", "type", "dev", types=("t-shirt",)),
        Judged("2", "piano", "absent", "dev", absent=True),
        Judged("3", "violin", "absent", "dev", absent=True),
    ]
    answers = {
        "1": Answer(["a", "b"], "matched"),
        "2": Answer([], "none"),
        "3": Answer(["d"], "related"),
    }
    figures = score(judged, answers, PRODUCTS)
    assert figures.ndcg10 == pytest.approx(1.0) and figures.recall50 == 1.0
    assert figures.none_when_absent == 0.5 and figures.none_precision == 1.0
    assert figures.none_when_present == 0.0


def test_the_committed_query_set_is_well_formed() -> None:
    judged = load()
    assert len(judged) >= 300
    assert len({q.id for q in judged}) == len(judged)
    assert {q.split for q in judged} == {"dev", "test"}
    kinds = {q.kind for q in judged}
    assert {"name", "attribute", "typo", "synonym", "descriptive", "absent"} <= kinds
    for q in judged:
        assert q.absent or q.product or q.types or q.names, q.id
