"""The checkout saga as a pure state machine: (saga, event) → (saga', commands to send).

Forward: reserving → charging → ordering → completed. A failure, or a step that
does not answer within its budget, starts compensation in reverse order of what
may have happened (payment, then inventory); each compensation is re-sent until
acknowledged, and once compensation began no forward step runs: a late success
is itself compensated. The saga ends `failed` when every compensation answered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Literal

from commerce.contracts.base import Message
from commerce.contracts.checkout import (
    CheckoutCompleted,
    CheckoutFailed,
    ClearCart,
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
from commerce.contracts.notifications import NotificationRequested
from commerce.contracts.values import StockLine, Totals


class State(StrEnum):
    PRICING = "pricing"
    RESERVING = "reserving"
    CHARGING = "charging"
    ORDERING = "ordering"
    COMPLETED = "completed"
    COMPENSATING = "compensating"
    FAILED = "failed"


FORWARD = {State.PRICING, State.RESERVING, State.CHARGING, State.ORDERING}
FINISHED = {State.COMPLETED, State.FAILED}
STEP_SERVICE = {
    State.PRICING: "pricing (discount-engine and tax-calculation)",
    State.RESERVING: "inventory",
    State.CHARGING: "payment-gateway",
    State.ORDERING: "order",
}


@dataclass(frozen=True)
class Saga:
    command: InitiateCheckoutCommand
    totals: Totals
    state: State = State.RESERVING
    payment_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    code: str | None = None
    reason: str | None = None
    pending: frozenset[str] = field(default_factory=frozenset)  # compensations not yet answered

    @property
    def checkout_id(self) -> uuid.UUID:
        return self.command.checkout_id


@dataclass(frozen=True)
class Timeout:
    """The current step's deadline passed; `final` when no re-send is left."""

    final: bool


@dataclass(frozen=True)
class Decision:
    saga: Saga
    send: list[Message] = field(default_factory=list)

    @property
    def changed_step(self) -> bool:
        return bool(self.send)


def verify_quote(command: InitiateCheckoutCommand) -> str | None:
    """None when the quote the person approved adds up; otherwise why it does not."""
    q = command.quote
    subtotal = sum(line.quantity * line.unit_price_cents for line in command.lines)
    if subtotal != q.subtotal_cents:
        return f"Prices changed: the items now cost {subtotal / 100:.2f} {q.currency}, not {q.subtotal_cents / 100:.2f}."
    if (
        q.discount_cents > q.subtotal_cents
        or q.subtotal_cents - q.discount_cents + q.tax_cents + q.shipping_cents != q.total_cents
    ):
        return "The quoted total does not add up; please ask for a new quote."
    return None


def start(command: InitiateCheckoutCommand, totals: Totals) -> Decision:
    saga = Saga(command=command, totals=totals)
    return Decision(saga, [reserve(saga)])


def priced(command: InitiateCheckoutCommand, totals: Totals) -> Decision:
    """Re-priced: go on when the total is what the person approved, otherwise stop."""
    if totals.total_cents != command.quote.total_cents:
        was, now = command.quote.total_cents / 100, totals.total_cents / 100
        reason = (
            f"The total changed from {was:.2f} to {now:.2f} {totals.currency} since your quote; "
            "please review it. Nothing was held or charged."
        )
        return reject(command, "price_changed", reason)
    return start(command, totals)


def reject(command: InitiateCheckoutCommand, code: str, reason: str) -> Decision:
    saga = Saga(command=command, totals=command.quote, state=State.FAILED, code=code, reason=reason)
    return Decision(saga, [failed_event(saga), *failure_notifications(saga)])


def reserve(saga: Saga) -> ReserveInventory:
    return ReserveInventory(
        checkout_id=saga.checkout_id,
        lines=[StockLine(sku=line.sku, quantity=line.quantity) for line in saga.command.lines],
    )


def charge(saga: Saga) -> ProcessPayment:
    return ProcessPayment(
        checkout_id=saga.checkout_id, user_id=saga.command.user_id,
        amount_cents=saga.totals.total_cents, currency=saga.totals.currency,
        payment_token=saga.command.payment_token,
    )  # fmt: skip


def create_order(saga: Saga) -> CreateOrder:
    assert saga.payment_id is not None
    c = saga.command
    return CreateOrder(
        checkout_id=c.checkout_id, user_id=c.user_id, lines=c.lines, shipping_address=c.shipping_address,
        contact=c.contact, totals=saga.totals, payment_id=saga.payment_id, coupon_code=c.coupon_code,
    )  # fmt: skip


def step_command(saga: Saga) -> list[Message]:
    """What to re-send when the current step times out (pricing is retried by the handler)."""
    if saga.state == State.RESERVING:
        return [reserve(saga)]
    if saga.state == State.CHARGING:
        return [charge(saga)]
    if saga.state == State.ORDERING:
        return [create_order(saga)]
    if saga.state == State.COMPENSATING:
        return compensations(saga, saga.pending)
    return []


def compensations(saga: Saga, which: frozenset[str]) -> list[Message]:
    reason = saga.reason or "checkout failed"
    out: list[Message] = []
    if "payment" in which:  # reverse order: money back first, then stock
        out.append(CompensatePayment(checkout_id=saga.checkout_id, reason=reason))
    if "inventory" in which:
        out.append(CompensateInventory(checkout_id=saga.checkout_id, reason=reason))
    return out


def compensate(saga: Saga, which: set[str], code: str, reason: str) -> Decision:
    pending = frozenset(which)
    next_saga = replace(saga, state=State.COMPENSATING, code=code, reason=reason, pending=pending)
    if not pending:
        return finish_failed(next_saga)
    return Decision(next_saga, compensations(next_saga, pending))


def finish_failed(saga: Saga) -> Decision:
    done = replace(saga, state=State.FAILED, pending=frozenset())
    return Decision(done, [failed_event(done), *failure_notifications(done)])


def failed_event(saga: Saga) -> CheckoutFailed:
    return CheckoutFailed(
        checkout_id=saga.checkout_id, user_id=saga.command.user_id,
        code=saga.code or "invalid_request",
        reason=saga.reason or "The checkout failed.",
    )  # fmt: skip


def _names(saga: Saga) -> dict[str, str]:
    return {line.sku: line.name for line in saga.command.lines}


def shortage_reason(saga: Saga, event: InventoryReservationFailed) -> str:
    names = _names(saga)
    parts = []
    for s in event.shortages:
        name = names.get(s.sku, s.sku)
        parts.append(
            f"{name} is out of stock"
            if s.available <= 0
            else f"only {s.available} left of {name} (you asked for {s.requested})"
        )
    if not parts:
        return event.reason
    text = "; ".join(parts)
    return text[:1].upper() + text[1:] + ". Nothing was charged."


def completion(saga: Saga) -> list[Message]:
    c = saga.command
    assert saga.order_id is not None and saga.payment_id is not None
    done: list[Message] = [
        ClearCart(checkout_id=c.checkout_id, user_id=c.user_id, cart_id=c.cart_id, skus=[line.sku for line in c.lines]),
        CommitInventory(checkout_id=c.checkout_id),
        *notifications(saga, "order_confirmation", {"order_id": str(saga.order_id), "total_cents": saga.totals.total_cents, "currency": saga.totals.currency}),
        CheckoutCompleted(
            checkout_id=c.checkout_id, user_id=c.user_id, order_id=saga.order_id, payment_id=saga.payment_id,
            totals=saga.totals, lines=c.lines, coupon_code=c.coupon_code, contact=c.contact,
        ),
    ]  # fmt: skip
    return done


def notifications(
    saga: Saga, template: str, data: dict[str, str | int | float | bool | None]
) -> list[Message]:
    """One NotificationRequested per contact channel the person gave (email, SMS)."""
    c = saga.command
    channels: list[tuple[Literal["email", "sms"], str | None]] = [
        ("email", c.contact.email),
        ("sms", c.contact.phone),
    ]
    return [
        NotificationRequested(
            channel=channel, user_id=c.user_id, recipient=recipient, template=template, data=data
        )
        for channel, recipient in channels
        if recipient
    ]


def failure_notifications(saga: Saga) -> list[Message]:
    return notifications(
        saga,
        "checkout_failed",
        {
            "checkout_id": str(saga.checkout_id),
            "reason": saga.reason or "",
            "code": saga.code or "",
        },
    )


def decide(saga: Saga, event: Message | Timeout) -> Decision:
    """The next state and the commands to send. Events that do not apply are ignored."""
    s = saga.state
    if isinstance(event, Timeout):
        if s in FORWARD and event.final:
            service = STEP_SERVICE[s]
            reason = f"The {service} service did not answer in time; nothing was kept."
            which = {
                State.PRICING: set(),
                State.RESERVING: {"inventory"},
            }.get(s, {"inventory", "payment"})
            return compensate(saga, which, "timeout", reason)
        return (
            Decision(saga, step_command(saga))
            if s in FORWARD | {State.COMPENSATING}
            else Decision(saga)
        )

    if isinstance(event, InventoryReserved):
        if s == State.RESERVING:
            charging = replace(saga, state=State.CHARGING)
            return Decision(charging, [charge(charging)])
        if s in (State.COMPENSATING, State.FAILED):  # a late hold: give it back
            return Decision(
                replace(saga, pending=saga.pending | {"inventory"})
                if s == State.COMPENSATING
                else saga,
                compensations(saga, frozenset({"inventory"})),
            )
        return Decision(saga)
    if isinstance(event, InventoryReservationFailed):
        if s == State.RESERVING:
            return compensate(saga, set(), "out_of_stock", shortage_reason(saga, event))
        return Decision(saga)
    if isinstance(event, PaymentProcessed):
        if s == State.CHARGING:
            ordering = replace(saga, state=State.ORDERING, payment_id=event.payment_id)
            return Decision(ordering, [create_order(ordering)])
        if s in (State.COMPENSATING, State.FAILED):  # a late charge: refund it
            late = replace(saga, payment_id=event.payment_id)
            if s == State.COMPENSATING:
                late = replace(late, pending=late.pending | {"payment"})
            return Decision(late, compensations(late, frozenset({"payment"})))
        return Decision(saga)
    if isinstance(event, PaymentFailed):
        if s == State.CHARGING:
            reason = f"{event.reason} Nothing was charged and the items were put back."
            return compensate(saga, {"inventory"}, "payment_declined", reason)
        return Decision(saga)
    if isinstance(event, OrderCreated):
        if s == State.ORDERING:
            done = replace(saga, state=State.COMPLETED, order_id=event.order_id)
            return Decision(done, completion(done))
        return Decision(
            saga
        )  # a late order after compensation is cancelled by the order service on CheckoutFailed
    if isinstance(event, OrderCreationFailed):
        if s == State.ORDERING:
            reason = f"The order could not be created: {event.reason} The payment was refunded and the items put back."
            return compensate(saga, {"payment", "inventory"}, "order_failed", reason)
        return Decision(saga)
    if isinstance(event, InventoryReleased | PaymentRefunded) and s == State.COMPENSATING:
        answered = "inventory" if isinstance(event, InventoryReleased) else "payment"
        remaining = saga.pending - {answered}
        if remaining == saga.pending:
            return Decision(saga)
        next_saga = replace(saga, pending=remaining)
        return finish_failed(next_saga) if not remaining else Decision(next_saga)
    return Decision(saga)
