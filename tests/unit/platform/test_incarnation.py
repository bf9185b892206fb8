"""The broker incarnation marker's name carries the moment it was born."""

from __future__ import annotations

from datetime import UTC, datetime

from commerce.platform.incarnation import MARKER_PREFIX, Incarnation, current_incarnation


def test_the_marker_name_gives_the_birth_time() -> None:
    found = Incarnation.from_marker(f"{MARKER_PREFIX}1795852652475")
    assert found is not None
    assert found.born == datetime(2026, 11, 28, 7, 57, 32, 475000, tzinfo=UTC)


def test_other_topics_are_not_markers() -> None:
    assert Incarnation.from_marker("checkout.checkout-events") is None
    assert Incarnation.from_marker(f"{MARKER_PREFIX}soon") is None
    assert current_incarnation({"notifications", "refunds.command"}) is None


def test_the_earliest_of_two_markers_counts() -> None:
    early, late = f"{MARKER_PREFIX}1000", f"{MARKER_PREFIX}2000"
    found = current_incarnation({late, "notifications", early})
    assert found is not None and found.marker == early
