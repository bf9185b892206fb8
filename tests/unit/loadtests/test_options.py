"""Load-run options: a paced run's rate is checked before anything starts."""

from __future__ import annotations

import pytest

from loadtests.runner import LoadOptions


def test_a_paced_rate_must_be_positive_and_within_what_the_users_can_start() -> None:
    LoadOptions("read-heavy", users=10, rate=200).validate()
    for rate in (0.0, -1.0, 1001.0):
        with pytest.raises(ValueError, match="rate"):
            LoadOptions("read-heavy", users=10, rate=rate).validate()
