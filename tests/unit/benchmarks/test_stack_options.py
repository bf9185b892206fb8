"""Benchmarks that run `benchmarks.whole_checkout`'s own stack hand it a whole set of its
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
