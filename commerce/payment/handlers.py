"""payment-gateway's handlers: process, compensate (refund), and refunds from the refund service."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.contracts.checkout import (
    CompensatePayment,
    PaymentFailed,
    PaymentProcessed,
    PaymentRefunded,
    ProcessPayment,
)
from commerce.contracts.refunds import RefundFailed, RefundPayment, RefundSucceeded
from commerce.payment.domain import Decision, Status, decide, refundable, status_after_refund
from commerce.payment.tables import delegated_tokens, ledger, payments
from commerce.platform.consumer import MessageContext
from commerce.platform.db import locked_row

log = structlog.get_logger(__name__)


class PaymentSettings(BaseSettings):
    """PAYMENT_GATEWAY_SUCCESS_RATE (0..1, default 0.9): approval rate of tokens that are
    not test tokens; PAYMENT_GATEWAY_SLOW_SECONDS (default 2): delay of `tok_slow`."""

    model_config = SettingsConfigDict(env_prefix="PAYMENT_GATEWAY_", extra="ignore")

    success_rate: float = Field(0.9, ge=0, le=1)
    slow_seconds: float = Field(2.0, ge=0)


settings = PaymentSettings()


async def _payment(session: AsyncSession, checkout_id: uuid.UUID) -> dict[str, object] | None:
    return await locked_row(session, payments, payments.c.checkout_id == checkout_id)


async def card_network(message: ProcessPayment, runtime: Any) -> None:
    """`prepare` of `process`: the card network's time to answer (`tok_slow`), spent
    before the handler's transaction opens, so a slow card holds no lock (docs/adr/0032).
    A re-sent command already answered is not delayed again."""
    async with runtime.db.reads() as session:
        if await session.scalar(
            select(payments.c.payment_id).where(payments.c.checkout_id == message.checkout_id)
        ):
            return
        decision = await _decision(session, message, lock=False)
    if decision.delay_seconds:
        await asyncio.sleep(decision.delay_seconds)


async def process(message: ProcessPayment, ctx: MessageContext) -> None:
    session = ctx.session
    existing = await _payment(session, message.checkout_id)
    if existing is not None:  # re-sent: answer as before, never charge twice
        await _republish(ctx, existing)
        return
    decision = await _decision(session, message)  # its delay was spent by `card_network`
    payment_id = uuid.uuid4()
    base = {
        "payment_id": payment_id, "checkout_id": message.checkout_id, "user_id": message.user_id,
        "token": message.payment_token[:200], "currency": message.currency,
    }  # fmt: skip
    if not decision.approved:
        await session.execute(
            insert(payments).values(
                **base,
                status=Status.DECLINED,
                failure_code=decision.code,
                failure_reason=decision.reason,
            )
        )
        await ctx.publish(
            PaymentFailed(
                checkout_id=message.checkout_id, code=decision.code, reason=decision.reason
            )
        )
        return
    amount = message.amount_cents
    await session.execute(
        insert(payments).values(
            **base, status=Status.CAPTURED, authorized_cents=amount, captured_cents=amount
        )
    )
    await session.execute(
        insert(ledger),
        [
            {"payment_id": payment_id, "kind": "authorize", "amount_cents": amount},
            {"payment_id": payment_id, "kind": "capture", "amount_cents": amount},
        ],
    )
    await ctx.publish(
        PaymentProcessed(
            checkout_id=message.checkout_id,
            payment_id=payment_id,
            amount_cents=amount,
            currency=message.currency,
        )
    )


async def _decision(
    session: AsyncSession, message: ProcessPayment, *, lock: bool = True
) -> Decision:
    """A test token decides itself; a delegated token (`vt_…`) pays only for the checkout
    it was redeemed for, within its allowance, as the card it stands for decides."""
    token = message.payment_token
    if token.startswith("vt_"):
        which = delegated_tokens.c.token_id == token[:40]
        row = (
            await locked_row(session, delegated_tokens, which)
            if lock
            else (await session.execute(select(delegated_tokens).where(which))).mappings().first()
        )
        if (
            row is None or row["status"] != "redeemed" or row["checkout_id"] != message.checkout_id
            or message.amount_cents > int(row["max_amount_cents"])
            or message.currency.lower() != str(row["currency"]).lower()
        ):  # fmt: skip
            return Decision(
                False, "invalid_token", "This payment token cannot pay for this checkout."
            )
        token = str(row["outcome"])
    return decide(
        token,
        message.checkout_id,
        success_rate=settings.success_rate,
        slow_seconds=settings.slow_seconds,
    )


async def _republish(ctx: MessageContext, existing: dict[str, object]) -> None:
    checkout_id = existing["checkout_id"]
    assert isinstance(checkout_id, uuid.UUID)
    status = existing["status"]
    if status == Status.VOIDED:
        await ctx.publish(
            PaymentFailed(
                checkout_id=checkout_id, code="declined", reason="The checkout was cancelled."
            )
        )
    elif status == Status.DECLINED:
        await ctx.publish(
            PaymentFailed(
                checkout_id=checkout_id,
                code=existing["failure_code"] or "declined",
                reason=str(existing["failure_reason"] or "Your card was declined."),
            )
        )
    else:
        payment_id = existing["payment_id"]
        assert isinstance(payment_id, uuid.UUID)
        await ctx.publish(
            PaymentProcessed(
                checkout_id=checkout_id,
                payment_id=payment_id,
                amount_cents=int(existing["captured_cents"]),  # type: ignore[call-overload]
                currency=str(existing["currency"]),
            )
        )


async def compensate(message: CompensatePayment, ctx: MessageContext) -> None:
    session = ctx.session
    existing = await _payment(session, message.checkout_id)
    if existing is None:
        # The compensation overtook the charge: void the checkout so a late charge is refused.
        await session.execute(
            insert(payments).values(
                payment_id=uuid.uuid4(), checkout_id=message.checkout_id, user_id="unknown",
                token="void", currency="USD", status=Status.VOIDED, failure_reason=message.reason,
            )
        )  # fmt: skip
        await ctx.publish(
            PaymentRefunded(checkout_id=message.checkout_id, amount_cents=0, currency="USD")
        )
        return
    payment_id = existing["payment_id"]
    assert isinstance(payment_id, uuid.UUID)
    captured, refunded = int(existing["captured_cents"]), int(existing["refunded_cents"])  # type: ignore[call-overload]
    amount = refundable(captured, refunded)
    if amount:
        await session.execute(
            insert(ledger).values(
                payment_id=payment_id,
                kind="refund",
                amount_cents=amount,
                reference=f"saga:{message.checkout_id}",
            )
        )
        await session.execute(
            update(payments)
            .where(payments.c.payment_id == payment_id)
            .values(refunded_cents=captured, status=Status.REFUNDED, updated_at=func.now())
        )
        log.info(f"Refund processed for saga {message.checkout_id}", amount_cents=amount)
    await ctx.publish(
        PaymentRefunded(
            checkout_id=message.checkout_id, payment_id=payment_id, amount_cents=amount,
            currency=str(existing["currency"]),
        )
    )  # fmt: skip


async def refund(message: RefundPayment, ctx: MessageContext) -> None:
    session = ctx.session
    reference = f"refund:{message.refund_id}"
    done = await session.scalar(
        select(ledger.c.amount_cents).where(ledger.c.reference == reference)
    )
    if done is not None:
        await ctx.publish(
            RefundSucceeded(
                refund_id=message.refund_id, order_id=message.order_id, checkout_id=message.checkout_id,
                amount_cents=done, currency=message.currency,
            )
        )  # fmt: skip
        return
    existing = await _payment(session, message.checkout_id)
    available = 0
    if existing is not None and existing["status"] in (Status.CAPTURED, Status.PARTIALLY_REFUNDED):
        available = refundable(int(existing["captured_cents"]), int(existing["refunded_cents"]))  # type: ignore[call-overload]
    if existing is None or message.amount_cents > available:
        reason = (
            "No captured payment for this order."
            if existing is None or available == 0
            else f"Only {available} cents can still be refunded."
        )
        await ctx.publish(
            RefundFailed(
                refund_id=message.refund_id, order_id=message.order_id,
                checkout_id=message.checkout_id, reason=reason,
            )
        )  # fmt: skip
        return
    captured = int(existing["captured_cents"])  # type: ignore[call-overload]
    new_refunded = int(existing["refunded_cents"]) + message.amount_cents  # type: ignore[call-overload]
    await session.execute(
        insert(ledger).values(
            payment_id=existing["payment_id"],
            kind="refund",
            amount_cents=message.amount_cents,
            reference=reference,
        )
    )
    await session.execute(
        update(payments)
        .where(payments.c.checkout_id == message.checkout_id)
        .values(
            refunded_cents=new_refunded,
            status=status_after_refund(captured, new_refunded),
            updated_at=func.now(),
        )
    )
    await ctx.publish(
        RefundSucceeded(
            refund_id=message.refund_id, order_id=message.order_id, checkout_id=message.checkout_id,
            amount_cents=message.amount_cents, currency=message.currency,
        )
    )  # fmt: skip
