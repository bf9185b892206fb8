"""The committed dataset: well-formed, true to the catalog, regenerable, with a held-back split."""

from __future__ import annotations

from collections import Counter

from evals.dataset import STEP_KINDS, catalog_facts, dataset_path, load_cases
from evals.datasets import build_v1


def test_the_committed_files_are_what_the_builder_writes() -> None:
    rows = build_v1.build_rows()
    for split in ("dev", "test"):
        assert dataset_path(split).read_text() == build_v1.render(rows, split)


def test_every_case_is_well_formed_and_refers_to_real_skus() -> None:
    cases = load_cases("all")
    assert len(cases) >= 300
    assert len({c.id for c in cases}) == len(cases)
    facts = catalog_facts()
    for case in cases:
        case.expected.intent_dump()  # validates against the intent models
        assert set(case.expected.plan) <= set(STEP_KINDS), case.id
        for line in case.expected.lines:
            assert all(sku in facts.prices for sku in line.sku_any_of), case.id
        for held in case.context.cart:
            assert held.sku in facts.prices, case.id
        if case.expected.outcome in ("checkout", "substitute") and case.expected.plan[-2:] == [
            "initiate_checkout",
            "track_checkout",
        ]:
            assert "confirm" in case.expected.plan or case.approval_in_last_message, case.id


def test_every_category_has_cases_held_back_in_test() -> None:
    dev = Counter(c.category for c in load_cases("dev"))
    test = Counter(c.category for c in load_cases("test"))
    assert set(dev) == set(test)
    assert len(dev) >= 14
    for category, count in test.items():
        share = count / (count + dev[category])
        assert 0.2 <= share <= 0.4, (category, share)


def test_substitutes_and_budgets_are_possible_with_the_seeded_stock() -> None:
    facts = catalog_facts()
    for case in load_cases("all"):
        if case.expected.outcome in ("checkout", "substitute"):
            for line in case.expected.lines:
                assert any(facts.stock[s] >= line.quantity for s in line.sku_any_of), case.id
        budget = case.expected.budget_cents
        if budget is not None and case.expected.outcome == "checkout":
            cheapest = sum(
                min(facts.prices[s] for s in line.sku_any_of) * line.quantity
                for line in case.expected.lines
            )
            assert cheapest <= budget, case.id
