"""`benchmarks.whole_checkout`: what other benchmarks hand its own stack, and its report.

Benchmarks that run `benchmarks.whole_checkout`'s own stack hand it a whole set of its
options, so an option added there cannot leave them failing at the end of a start-up."""

from __future__ import annotations

import argparse

from benchmarks import statements_per_checkout, whole_checkout


def test_statements_per_checkout_hands_the_stack_every_option_it_reads() -> None:
    ours = argparse.Namespace(seconds=7.0, port_offset=16100, processes=2, replicas=None)
    handed = statements_per_checkout.stack_arguments(ours)
    defaults = whole_checkout.arguments().parse_args([])
    assert set(vars(handed)) == set(vars(defaults))
    assert (handed.levels, handed.seconds, handed.port_offset) == ([1], 7.0, 16100)
    assert (handed.processes, handed.replicas, handed.per_request, handed.url) == (
        2,
        None,
        None,
        None,
    )


def test_the_slowest_checkouts_steps_are_those_of_the_longest_checkouts() -> None:
    level = whole_checkout.Level(1)
    for ms in range(1, 201):
        level.checkouts.append(float(ms))
        level.steps.append({"cart": 1.0, "saga": float(ms) - 1})
    assert [s["saga"] for s in whole_checkout.slowest(level)] == [198.0, 199.0]
    assert whole_checkout.slowest(whole_checkout.Level(1)) == []
