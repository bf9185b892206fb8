"""The saga state machine: every state against every event, duplicates and late arrivals."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from commerce.checkout.domain import (
    Saga,
    State,
    Timeout,
    decide,
    reject,
    start,
    verify_quote,
)
from commerce.checkout.handlers import priced_moments_ago
from commerce.contracts.base import Message
from commerce.contracts.checkout import (
    CartCleared,
    CheckoutCompleted,
    CheckoutFailed,
    CommitInventory,
    CompensateInventory,
    CompensatePayment,
    CreateOrder,
    InitiateCheckoutCommand,
    InventoryReleased,
    InventoryReservationFailed,
    InventoryReserved,
    OrderCreated,
    OrderCreationFailed,
    PaymentFailed,
    PaymentProcessed,
    PaymentRefunded,
    ProcessPayment,
    ReserveInventory,
)
from commerce.contracts.values import Address, CheckoutLine, Contact, StockShortage, Totals

CID = uuid.uuid4()
PAY = uuid.uuid4()
ORDER = uuid.uuid4()
COMMAND = InitiateCheckoutCommand(
    checkout_id=CID, user_id="user_123",
    lines=[CheckoutLine(sku="CBL-1", product_id="p1", name="USB-C Cable", quantity=2, unit_price_cents=500)],
    shipping_address=Address(name="A", line1="1 St", city="X", postal_code="1", country="US"),
    contact=Contact(email="a@example.com"), payment_token="tok_visa",
    quote=Totals(subtotal_cents=1000, total_cents=1000),
)  # fmt: skip

EVENTS: list[Message] = [
    InventoryReserved(checkout_id=CID, expires_at=datetime.now(UTC)),
    InventoryReservationFailed(
        checkout_id=CID,
        reason="short",
        shortages=[StockShortage(sku="CBL-1", requested=2, available=1)],
    ),
    InventoryReleased(checkout_id=CID, released_units=2),
    PaymentProcessed(checkout_id=CID, payment_id=PAY, amount_cents=1000, currency="USD"),
    PaymentFailed(checkout_id=CID, code="declined", reason="Your card was declined."),
    PaymentRefunded(checkout_id=CID, payment_id=PAY, amount_cents=1000, currency="USD"),
    OrderCreated(checkout_id=CID, order_id=ORDER),
    OrderCreationFailed(checkout_id=CID, reason="We do not ship there."),
    CartCleared(checkout_id=CID),
]
FORWARD_COMMANDS = (
    ReserveInventory,
    ProcessPayment,
    CreateOrder,
    CommitInventory,
    CheckoutCompleted,
)


def saga(state: State, **changes: object) -> Saga:
    return replace(Saga(command=COMMAND, totals=COMMAND.quote), state=state, **changes)  # type: ignore[arg-type]


def test_happy_path() -> None:
    d = start(COMMAND, COMMAND.quote)
    assert [type(m) for m in d.send] == [ReserveInventory]
    d = decide(d.saga, EVENTS[0])
    assert d.saga.state == State.CHARGING and isinstance(d.send[0], ProcessPayment)
    assert d.send[0].amount_cents == 1000
    d = decide(d.saga, EVENTS[3])
    assert d.saga.state == State.ORDERING and isinstance(d.send[0], CreateOrder)
    d = decide(d.saga, EVENTS[6])
    assert d.saga.state == State.COMPLETED and d.saga.order_id == ORDER
    kinds = [m.TYPE for m in d.send]
    assert kinds == ["ClearCart", "CommitInventory", "NotificationRequested", "CheckoutCompleted"]


def test_out_of_stock_names_the_item_and_compensates_nothing() -> None:
    d = decide(saga(State.RESERVING), EVENTS[1])
    assert d.saga.state == State.FAILED and d.saga.code == "out_of_stock"
    assert d.saga.reason == "Only 1 left of USB-C Cable (you asked for 2). Nothing was charged."
    assert isinstance(d.send[0], CheckoutFailed)


def test_declined_payment_releases_stock_then_fails() -> None:
    d = decide(saga(State.CHARGING), EVENTS[4])
    assert d.saga.state == State.COMPENSATING and d.saga.pending == {"inventory"}
    assert [type(m) for m in d.send] == [CompensateInventory]
    d = decide(d.saga, EVENTS[2])
    assert d.saga.state == State.FAILED and d.saga.code == "payment_declined"


def test_order_failure_refunds_first_then_releases() -> None:
    d = decide(saga(State.ORDERING, payment_id=PAY), EVENTS[7])
    assert [type(m) for m in d.send] == [CompensatePayment, CompensateInventory]
    d = decide(d.saga, EVENTS[5])
    assert d.saga.state == State.COMPENSATING and d.saga.pending == {"inventory"}
    d = decide(d.saga, EVENTS[2])
    assert d.saga.state == State.FAILED and "We do not ship there." in (d.saga.reason or "")


@pytest.mark.parametrize("state", [State.RESERVING, State.CHARGING, State.ORDERING])
def test_final_timeout_compensates_and_names_the_service(state: State) -> None:
    d = decide(saga(state, payment_id=PAY), Timeout(final=True))
    assert d.saga.state == State.COMPENSATING and d.saga.code == "timeout"
    service = {
        State.RESERVING: "inventory",
        State.CHARGING: "payment-gateway",
        State.ORDERING: "order",
    }[state]
    assert service in (d.saga.reason or "")


@pytest.mark.parametrize(
    "state", [State.RESERVING, State.CHARGING, State.ORDERING, State.COMPENSATING]
)
def test_a_timeout_before_the_last_resends_the_step(state: State) -> None:
    current = saga(
        state,
        payment_id=PAY,
        pending=frozenset({"payment"}) if state == State.COMPENSATING else frozenset(),
    )
    d = decide(current, Timeout(final=False))
    assert d.saga == current and len(d.send) == 1


FORWARD_STATES = [State.PRICING, State.RESERVING, State.CHARGING, State.ORDERING]
# (state, event) -> (next state, messages sent, failure code); every pair not listed is
# a no-op: a duplicate, or an answer that does not belong to the step in progress
MOVES: dict[tuple[State, str], tuple[State, list[str], str | None]] = {
    (State.RESERVING, "InventoryReserved"): (State.CHARGING, ["ProcessPayment"], None),
    (State.RESERVING, "InventoryReservationFailed"): (
        State.FAILED, ["CheckoutFailed", "NotificationRequested"], "out_of_stock",
    ),
    (State.CHARGING, "PaymentProcessed"): (State.ORDERING, ["CreateOrder"], None),
    (State.CHARGING, "PaymentFailed"): (
        State.COMPENSATING, ["CompensateInventory"], "payment_declined",
    ),
    (State.ORDERING, "OrderCreated"): (
        State.COMPLETED,
        ["ClearCart", "CommitInventory", "NotificationRequested", "CheckoutCompleted"],
        None,
    ),
    (State.ORDERING, "OrderCreationFailed"): (
        State.COMPENSATING, ["CompensatePayment", "CompensateInventory"], "order_failed",
    ),
}  # fmt: skip


@pytest.mark.parametrize("state", FORWARD_STATES)
@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.TYPE)
def test_each_forward_state_moves_only_on_its_own_step_answer(state: State, event: Message) -> None:
    current = saga(state, payment_id=PAY, order_id=ORDER)
    d = decide(current, event)
    move = MOVES.get((state, event.TYPE))
    if move is None:
        assert d.saga == current and d.send == []
    else:
        next_state, sent, code = move
        assert (d.saga.state, [m.TYPE for m in d.send], d.saga.code) == (next_state, sent, code)


@pytest.mark.parametrize("state", [State.COMPENSATING, State.FAILED, State.COMPLETED])
@pytest.mark.parametrize("event", EVENTS, ids=lambda e: e.TYPE)
def test_no_forward_step_once_compensation_began(state: State, event: Message) -> None:
    current = saga(
        state,
        payment_id=PAY,
        order_id=ORDER,
        pending=frozenset({"inventory"}) if state == State.COMPENSATING else frozenset(),
    )
    d = decide(current, event)
    if state == State.COMPLETED:
        assert d.saga == current and not d.send  # nothing undoes a completed checkout
    else:
        assert not any(isinstance(m, FORWARD_COMMANDS) for m in d.send)
        assert d.saga.state in (State.COMPENSATING, State.FAILED)


@pytest.mark.parametrize("event", [EVENTS[0], EVENTS[3]], ids=["late hold", "late charge"])
def test_late_successes_after_compensation_are_compensated(event: Message) -> None:
    d = decide(saga(State.FAILED, code="timeout"), event)
    assert len(d.send) == 1 and isinstance(d.send[0], CompensateInventory | CompensatePayment)


def test_duplicates_are_no_ops() -> None:
    d = decide(saga(State.CHARGING), EVENTS[0])  # InventoryReserved again while charging
    assert d.saga.state == State.CHARGING and not d.send


def test_quote_checks() -> None:
    assert verify_quote(COMMAND) is None
    wrong = COMMAND.model_copy(update={"quote": Totals(subtotal_cents=900, total_cents=900)})
    assert "Prices changed" in (verify_quote(wrong) or "")
    off = COMMAND.model_copy(
        update={"quote": Totals(subtotal_cents=1000, tax_cents=80, total_cents=1000)}
    )
    assert "does not add up" in (verify_quote(off) or "")
    d = reject(wrong, "price_changed", "Prices changed")
    assert d.saga.state == State.FAILED and isinstance(d.send[0], CheckoutFailed)


def test_the_shared_checkout_states_are_the_sagas_states() -> None:
    from typing import get_args

    from commerce.checkout.domain import FINISHED
    from commerce.contracts.values import FINAL_STATES, CheckoutState

    assert set(get_args(CheckoutState)) == {"submitted", *State}
    assert set(FINAL_STATES) == set(FINISHED)


@pytest.mark.parametrize(
    ("seconds_ago", "fresh"),
    [(None, False), (0.0, True), (4.0, True), (-2.0, True), (6.0, False), (3600.0, False)],
)
def test_a_quote_priced_moments_ago_is_not_priced_again(
    seconds_ago: float | None, fresh: bool
) -> None:
    """Within the window either way (two hosts' clocks), never without `priced_at`."""
    priced_at = None if seconds_ago is None else datetime.now(UTC) - timedelta(seconds=seconds_ago)
    command = COMMAND.model_copy(update={"priced_at": priced_at})
    assert priced_moments_ago(command, 5.0) is fresh
    if seconds_ago is not None and abs(seconds_ago) > 0.5:
        assert not priced_moments_ago(command, 0.0)  # 0: always priced again


def test_the_orchestrator_handles_exactly_the_events_that_can_move_a_saga() -> None:
    """Each event of `checkout.checkout-events` the orchestrator consumes can change some
    saga (its state, what it waits for, or what it sends); one that cannot (the answers
    to what a completed saga sends) is not consumed: a hop of its own for nothing
    (docs/adr/0049)."""
    from itertools import chain, combinations

    from commerce.checkout.service import service
    from commerce.contracts.checkout import CartClearanceFailed, InventoryCommitted

    handled = {h.message for h in service.handlers} - {InitiateCheckoutCommand}
    events = [
        *EVENTS,
        InventoryCommitted(checkout_id=CID),
        CartClearanceFailed(checkout_id=CID, reason="gone"),
    ]
    pendings = [
        frozenset(p)
        for p in chain.from_iterable(combinations(("inventory", "payment"), n) for n in range(3))
    ]
    for event in events:
        sagas = [saga(state, payment_id=PAY, pending=p) for state in State for p in pendings]
        moves = any(decide(s, event).saga != s or decide(s, event).send for s in sagas)
        assert moves == (type(event) in handled), type(event).__name__
