"""The reservation lifecycle without I/O: held → committed | released | expired, the
tombstone of a compensation that came first, re-taking an expired hold, re-sent commands."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.contracts.checkout import (
    InventoryCommitted,
    InventoryReleased,
    InventoryReservationFailed,
    InventoryReserved,
)
from commerce.inventory.domain import (
    Reservation,
    Status,
    StockMove,
    answer_again,
    commit,
    compensate,
    expire,
    merge_lines,
    reserve,
    restock,
    stock_count_refusal,
    stock_to_check,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
ID = uuid.UUID(int=7)


def _held(**lines: int) -> Reservation:
    return Reservation(ID, Status.HELD, expires_at=NOW + timedelta(minutes=15), lines=lines)


def test_a_reservation_holds_every_line_until_its_expiry() -> None:
    outcome = reserve(ID, {"A": 2, "B": 1}, {"A": 2, "B": 5}, now=NOW, hold=timedelta(seconds=900))
    assert outcome.new and outcome.reservation is not None
    assert (outcome.reservation.status, outcome.reservation.lines) == (
        Status.HELD,
        {"A": 2, "B": 1},
    )
    assert list(outcome.stock) == [StockMove("A", reserved=2), StockMove("B", reserved=1)]
    assert outcome.publish == [
        InventoryReserved(checkout_id=ID, expires_at=NOW + timedelta(minutes=15))
    ]


def test_a_short_line_holds_nothing_and_says_what_is_short() -> None:
    outcome = reserve(ID, {"A": 2, "B": 3}, {"A": 2, "B": 1}, now=NOW, hold=timedelta(seconds=60))
    assert outcome.reservation is not None and outcome.reservation.status == Status.FAILED
    assert outcome.stock == ()
    (failed,) = outcome.publish
    assert isinstance(failed, InventoryReservationFailed)
    assert failed.reason == "Only 1 left of B (you asked for 3)."
    assert [(s.sku, s.requested, s.available) for s in failed.shortages] == [("B", 3, 1)]


@given(
    st.dictionaries(st.sampled_from("ABCD"), st.integers(1, 20), min_size=1),
    st.dictionaries(st.sampled_from("ABCD"), st.integers(-5, 30)),
)
def test_a_reservation_holds_all_or_nothing_and_never_more_than_is_free(
    wanted: dict[str, int], available: dict[str, int]
) -> None:
    outcome = reserve(ID, wanted, available, now=NOW, hold=timedelta(seconds=1))
    enough = all(available.get(sku, 0) >= q for sku, q in wanted.items())
    assert outcome.reservation is not None
    assert outcome.reservation.status == (Status.HELD if enough else Status.FAILED)
    held = {m.sku: m.reserved for m in outcome.stock}
    assert held == (wanted if enough else {})


def test_duplicates_merge_in_lock_order() -> None:
    assert list(merge_lines([("B", 1), ("A", 2), ("B", 3)]).items()) == [("A", 2), ("B", 4)]


def test_a_compensation_before_the_reservation_leaves_a_tombstone() -> None:
    outcome = compensate(None, ID, "payment declined")
    assert outcome.new and outcome.reservation == Reservation(
        ID, Status.CANCELLED, reason="payment declined"
    )
    assert outcome.publish == [InventoryReleased(checkout_id=ID, released_units=0)]
    tombstone = outcome.reservation
    again = answer_again(tombstone)
    assert again.reservation is None and again.stock == ()
    assert again.publish == [
        InventoryReservationFailed(
            checkout_id=ID, reason="The checkout was cancelled before stock was reserved."
        )
    ]


def test_a_compensation_releases_a_hold_once() -> None:
    outcome = compensate(_held(A=2, B=1), ID, "payment declined")
    assert outcome.reservation == Reservation(ID, Status.RELEASED, reason="payment declined")
    assert list(outcome.stock) == [StockMove("A", reserved=-2), StockMove("B", reserved=-1)]
    assert outcome.publish == [InventoryReleased(checkout_id=ID, released_units=3)]
    released = Reservation(ID, Status.RELEASED, lines={"A": 2, "B": 1})
    repeat = compensate(released, ID, "again")
    assert (repeat.reservation, repeat.stock) == (None, ())
    assert repeat.publish == [InventoryReleased(checkout_id=ID, released_units=0)]


def test_a_compensation_after_the_sale_gives_nothing_back_and_is_logged() -> None:
    sold = Reservation(ID, Status.COMMITTED, lines={"A": 1})
    outcome = compensate(sold, ID, "late")
    assert (outcome.reservation, outcome.stock) == (None, ())
    assert outcome.log == ("warning", "inventory.compensate_after_commit")


def test_a_commit_sells_what_was_held() -> None:
    outcome = commit(_held(A=2), ID, {})
    assert outcome.reservation == Reservation(ID, Status.COMMITTED)
    assert list(outcome.stock) == [StockMove("A", on_hand=-2, reserved=-2)]
    assert outcome.publish == [InventoryCommitted(checkout_id=ID)]
    assert stock_to_check(_held(A=2)) == []


def test_an_expired_hold_is_re_taken_only_if_the_stock_is_still_there() -> None:
    expired = Reservation(ID, Status.EXPIRED, lines={"A": 2})
    assert stock_to_check(expired) == ["A"]
    sold = commit(expired, ID, {"A": 2})
    assert list(sold.stock) == [StockMove("A", on_hand=-2)]
    assert sold.publish == [InventoryCommitted(checkout_id=ID)]
    short = commit(expired, ID, {"A": 1})
    assert (short.reservation, short.stock, short.publish) == (None, (), ())
    assert short.log == ("error", "inventory.commit_after_expiry_short")


@pytest.mark.parametrize(
    ("existing", "published", "logged"),
    [
        (None, [], ("error", "inventory.commit_without_reservation")),
        (Reservation(ID, Status.COMMITTED), [InventoryCommitted(checkout_id=ID)], None),
        (Reservation(ID, Status.RELEASED), [], ("error", "inventory.commit_refused")),
        (Reservation(ID, Status.CANCELLED), [], ("error", "inventory.commit_refused")),
        (Reservation(ID, Status.FAILED), [], ("error", "inventory.commit_refused")),
    ],
)
def test_a_commit_of_anything_else_changes_nothing(
    existing: Reservation | None,
    published: list[InventoryCommitted],
    logged: tuple[str, str] | None,
) -> None:
    outcome = commit(existing, ID, {})
    assert (outcome.reservation, outcome.stock, list(outcome.publish), outcome.log) == (
        None, (), published, logged,
    )  # fmt: skip


def test_a_cancelled_sale_puts_its_units_back_on_the_shelf_once() -> None:
    sold = Reservation(ID, Status.COMMITTED, lines={"A": 2, "B": 1})
    outcome = restock(sold)
    assert outcome.reservation == Reservation(ID, Status.RETURNED, reason="order cancelled")
    assert list(outcome.stock) == [StockMove("A", on_hand=2), StockMove("B", on_hand=1)]
    assert outcome.publish == ()
    returned = Reservation(ID, Status.RETURNED, lines={"A": 2, "B": 1})
    again = restock(returned)  # a redelivery
    assert (again.reservation, again.stock) == (None, ())
    # a commit that arrives after the return takes nothing, and is answered as done
    late = commit(returned, ID, {})
    assert (late.reservation, late.stock) == (None, ())
    assert list(late.publish) == [InventoryCommitted(checkout_id=ID)]


def test_a_cancelled_sale_not_committed_yet_releases_its_hold() -> None:
    outcome = restock(_held(A=2))
    assert outcome.reservation is not None and outcome.reservation.status == Status.RETURNED
    assert list(outcome.stock) == [StockMove("A", reserved=-2)]
    expired = restock(Reservation(ID, Status.EXPIRED, lines={"A": 2}))  # gave its units back
    assert expired.reservation is not None and expired.reservation.status == Status.RETURNED
    assert expired.stock == []


@pytest.mark.parametrize("status", [Status.RELEASED, Status.CANCELLED, Status.FAILED])
def test_a_restock_of_a_checkout_that_took_nothing_changes_nothing(status: Status) -> None:
    outcome = restock(Reservation(ID, status, lines={"A": 2}))
    assert (outcome.reservation, outcome.stock) == (None, ())
    assert restock(None).log == ("warning", "inventory.restock_without_reservation")


def test_an_expired_hold_gives_its_stock_back() -> None:
    outcome = expire(_held(A=2))
    assert outcome.reservation == Reservation(ID, Status.EXPIRED, reason="hold expired")
    assert list(outcome.stock) == [StockMove("A", reserved=-2)]
    assert outcome.publish == ()
    assert expire(Reservation(ID, Status.COMMITTED, lines={"A": 2})).stock == ()


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (Status.RELEASED, "The reservation was already released."),
        (Status.EXPIRED, "The reservation expired."),
        (Status.FAILED, "Only 1 left of B (you asked for 3)."),
    ],
)
def test_a_re_sent_reservation_is_answered_as_before(status: Status, reason: str) -> None:
    stored = Reservation(ID, status, reason="Only 1 left of B (you asked for 3).")
    assert answer_again(stored).publish == [
        InventoryReservationFailed(checkout_id=ID, reason=reason)
    ]
    held = _held(A=1)
    assert answer_again(held).publish == [
        InventoryReserved(checkout_id=ID, expires_at=held.expires_at)
    ]


def test_a_stock_count_never_goes_below_what_is_reserved() -> None:
    assert stock_count_refusal("A", 5, reserved=5) is None
    assert stock_count_refusal("A", 4, reserved=5) == (
        "5 units of A are reserved; on_hand cannot go below that"
    )
