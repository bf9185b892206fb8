"""Placement of services into processes for `agentshop up --processes N` (docs/adr/0031)."""

from __future__ import annotations

import pytest

from commerce.platform.placement import (
    CLUSTERS,
    called_by,
    default_processes,
    parse_groups,
    place,
    replicated,
)
from commerce.services import SERVICES

ALL = list(SERVICES)


def test_every_service_is_in_a_cluster() -> None:
    clustered = [name for cluster in CLUSTERS for name in cluster]
    assert sorted(clustered) == sorted(ALL)


@pytest.mark.parametrize("processes", range(1, len(ALL) + 3))
def test_each_service_placed_once_in_at_most_n_processes(processes: int) -> None:
    groups = place(ALL, processes)
    assert sorted(name for group in groups for name in group) == sorted(ALL)
    assert len(groups) == min(processes, len(ALL))
    assert all(groups)


def test_one_process_is_everything_in_the_given_order() -> None:
    assert place(ALL, 1) == [ALL]


def test_two_processes_keep_the_shoppers_http_calls_in_the_first() -> None:
    first, second = place(ALL, 2)
    assert first[0] == "gateway-bff"
    assert set(first) == {
        "gateway-bff", "catalog", "inventory", "cart",
        "checkout-orchestrator", "tax-calculation", "discount-engine",
    }  # fmt: skip
    assert {"payment-gateway", "order", "refund"} <= set(second)


def test_three_processes_are_the_clusters() -> None:
    assert sorted(map(sorted, place(ALL, 3))) == sorted(sorted(c) for c in CLUSTERS)


def test_a_subset_is_placed_alone() -> None:
    assert place(["cart", "order"], 2) == [["cart"], ["order"]]
    assert place(["cart", "order"], 5) == [["cart"], ["order"]]


@pytest.mark.parametrize(("cores", "expected"), [(1, 1), (2, 2), (3, 3), (4, 3), (64, 3)])
def test_by_default_one_process_per_core_up_to_one_per_cluster(cores: int, expected: int) -> None:
    assert default_processes(ALL, cores) == expected
    assert len(place(ALL, default_processes(ALL, cores))) == expected


def test_by_default_a_subset_gets_no_more_processes_than_its_clusters() -> None:
    assert default_processes(["gateway-bff", "cart", "catalog"], cores=8) == 1
    assert default_processes(["cart", "order", "order"], cores=8) == 2
    assert default_processes(["cart", "order"], cores=1) == 1


def test_zero_processes_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        place(ALL, 0)


def test_explicit_groups_are_checked() -> None:
    known = ["a", "b", "c"]
    assert parse_groups("a,b; c", known) == [["a", "b"], ["c"]]
    with pytest.raises(ValueError, match="unknown services in the placement: x"):
        parse_groups("a,b;c,x", known)
    with pytest.raises(ValueError, match="placed more than once: a"):
        parse_groups("a,b;c,a", known)
    with pytest.raises(ValueError, match="not placed: c"):
        parse_groups("a;b", known)


def test_replicas_run_the_sagas_hot_consumers_and_answer_the_orchestrators_pricing() -> None:
    consumers = replicated(ALL)
    assert consumers == [
        name
        for name in ALL
        if name in {"checkout-orchestrator", "inventory", "payment-gateway", "order"}
    ]
    # the orchestrator prices a new checkout through these: answered in the replica itself
    assert sorted(called_by(consumers, ALL)) == ["discount-engine", "tax-calculation"]


def test_replicas_of_a_subset_run_only_what_was_chosen() -> None:
    assert replicated(["cart", "inventory"]) == ["inventory"]
    assert called_by(["inventory"], ALL) == []
    assert called_by(["checkout-orchestrator"], ["checkout-orchestrator", "tax-calculation"]) == [
        "tax-calculation"
    ]
