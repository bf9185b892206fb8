"""payment-gateway's handlers — process, compensate (refund a saga's charge), and refunds
from the refund service: each loads the payment, decides with `domain`, records through
`store`, publishes."""

from __future__ import annotations

import asyncio
import uuid

import structlog

from commerce.contracts.checkout import (
    CompensatePayment,
    PaymentFailed,
    PaymentProcessed,
    PaymentRefunded,
    ProcessPayment,
)
from commerce.contracts.refunds import RefundFailed, RefundPayment, RefundSucceeded
from commerce.payment import domain
from commerce.payment.domain import Decision, Status
from commerce.payment.store import PaymentStore
from commerce.platform.consumer import MessageContext
from commerce.platform.runtime import Runtime
from commerce.platform.settings import PaymentSettings

log = structlog.get_logger(__name__)


async def card_network(message: ProcessPayment, runtime: Runtime) -> None:
    """`prepare` of `process`: the card network's time to answer (`tok_slow`), spent
    before the handler's transaction opens, so a slow card holds no lock (docs/adr/0032).
    A re-sent command already answered is not delayed again. A card that answers at
    once (any token but a delegated one decides from itself) needs no read at all."""
    settings = runtime.settings.payment
    if (
        not message.payment_token.startswith("vt_")
        and not _own_decision(message, settings).delay_seconds
    ):
        return
    async with runtime.db.reads() as session:
        store = PaymentStore(session)
        if await store.known(message.checkout_id):
            return
        decision = await _decision(store, message, runtime.settings.payment, lock=False)
    if decision.delay_seconds:
        await asyncio.sleep(decision.delay_seconds)


async def process(message: ProcessPayment, ctx: MessageContext) -> None:
    store = PaymentStore(ctx.session)
    existing = await store.lock(message.checkout_id)
    if existing is not None:  # re-sent: answer as before, never charge twice
        await ctx.publish(domain.answer_again(existing))
        return
    # its delay was spent by `card_network`
    decision = await _decision(store, message, ctx.runtime.settings.payment)
    payment_id = uuid.uuid4()
    base = {
        "payment_id": payment_id, "checkout_id": message.checkout_id, "user_id": message.user_id,
        "token": message.payment_token[:200], "currency": message.currency,
    }  # fmt: skip
    if not decision.approved:
        await store.declined(base, decision.code, decision.reason)
        await ctx.publish(
            PaymentFailed(
                checkout_id=message.checkout_id, code=decision.code, reason=decision.reason
            )
        )
        return
    await store.captured(base, message.amount_cents)
    await ctx.publish(
        PaymentProcessed(
            checkout_id=message.checkout_id,
            payment_id=payment_id,
            amount_cents=message.amount_cents,
            currency=message.currency,
        )
    )


async def _decision(
    store: PaymentStore, message: ProcessPayment, settings: PaymentSettings, *, lock: bool = True
) -> Decision:
    """A test token decides itself; a delegated token (`vt_…`) pays only for the checkout
    it was redeemed for, within its allowance, as the card it stands for decides."""
    token = message.payment_token
    if not token.startswith("vt_"):
        return _own_decision(message, settings)
    delegated = await store.delegated(token[:40], lock=lock)
    charged_as = domain.delegated_charge(
        delegated, message.checkout_id, message.amount_cents, message.currency
    )
    if charged_as is None:
        return domain.INVALID_DELEGATED
    return _own_decision(message, settings, charged_as)


def _own_decision(
    message: ProcessPayment, settings: PaymentSettings, token: str | None = None
) -> Decision:
    """What a card token (the message's own unless given) decides by itself."""
    return domain.decide(
        token or message.payment_token,
        message.checkout_id,
        success_rate=settings.success_rate,
        slow_seconds=settings.slow_seconds,
    )


async def compensate(message: CompensatePayment, ctx: MessageContext) -> None:
    store = PaymentStore(ctx.session)
    existing = await store.lock(message.checkout_id)
    if existing is None:
        # The compensation overtook the charge: void the checkout so a late charge is refused.
        await store.void(message.checkout_id, message.reason)
        await ctx.publish(
            PaymentRefunded(checkout_id=message.checkout_id, amount_cents=0, currency="USD")
        )
        return
    amount = existing.refundable_cents
    if amount:
        await store.refund(
            existing, amount, f"saga:{message.checkout_id}",
            refunded=existing.captured_cents, status=Status.REFUNDED,
        )  # fmt: skip
        log.info(f"Refund processed for saga {message.checkout_id}", amount_cents=amount)
    await ctx.publish(
        PaymentRefunded(
            checkout_id=message.checkout_id, payment_id=existing.payment_id, amount_cents=amount,
            currency=existing.currency,
        )
    )  # fmt: skip


async def refund(message: RefundPayment, ctx: MessageContext) -> None:
    store = PaymentStore(ctx.session)
    reference = f"refund:{message.refund_id}"
    done = await store.refunded_for(reference)
    if done is not None:
        await ctx.publish(
            RefundSucceeded(
                refund_id=message.refund_id, order_id=message.order_id, checkout_id=message.checkout_id,
                amount_cents=done, currency=message.currency, cancels_order=message.cancels_order,
            )
        )  # fmt: skip
        return
    existing = await store.lock(message.checkout_id)
    reason = domain.refund_refusal(existing, message.amount_cents)
    if existing is None or reason is not None:
        await ctx.publish(
            RefundFailed(
                refund_id=message.refund_id, order_id=message.order_id,
                checkout_id=message.checkout_id, reason=reason or "No captured payment for this order.",
            )
        )  # fmt: skip
        return
    refunded = existing.refunded_cents + message.amount_cents
    await store.refund(
        existing, message.amount_cents, reference, refunded=refunded,
        status=domain.status_after_refund(existing.captured_cents, refunded),
    )  # fmt: skip
    await ctx.publish(
        RefundSucceeded(
            refund_id=message.refund_id, order_id=message.order_id, checkout_id=message.checkout_id,
            amount_cents=message.amount_cents, currency=message.currency,
            cancels_order=message.cancels_order,
        )
    )  # fmt: skip
