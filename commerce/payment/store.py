"""payment-gateway's storage: payments, their ledger and delegated tokens, in the caller's
transaction."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.payment.domain import DelegatedToken, Payment, Status
from commerce.payment.tables import delegated_tokens, ledger, payments
from commerce.platform.db import execute, fetch, locked_row


def _payment(row: dict[str, Any]) -> Payment:
    return Payment(
        payment_id=row["payment_id"], checkout_id=row["checkout_id"], status=str(row["status"]),
        currency=str(row["currency"]), captured_cents=int(row["captured_cents"]),
        refunded_cents=int(row["refunded_cents"]), failure_code=row["failure_code"],
        failure_reason=row["failure_reason"],
    )  # fmt: skip


_KNOWN = f"SELECT 1 FROM {payments.name} WHERE checkout_id = $1"
# The payment and both its ledger entries, in one statement.
_CAPTURED = (
    f"WITH p AS (INSERT INTO {payments.name} (payment_id, checkout_id, user_id, token, currency,"
    " status, authorized_cents, captured_cents) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)"
    " RETURNING payment_id)"
    f" INSERT INTO {ledger.name} (payment_id, kind, amount_cents)"
    " SELECT payment_id, k, $7 FROM p, unnest(ARRAY['authorize', 'capture']) WITH ORDINALITY"
    " AS e(k, n) ORDER BY n"
)


class PaymentStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def known(self, checkout_id: uuid.UUID) -> bool:
        """A payment of this checkout exists (read without a lock)."""
        return bool(await fetch(self.session, _KNOWN, checkout_id))

    async def lock(self, checkout_id: uuid.UUID) -> Payment | None:
        row = await locked_row(self.session, payments.c.checkout_id, checkout_id)
        return _payment(row) if row is not None else None

    async def delegated(self, token_id: str, *, lock: bool = True) -> DelegatedToken | None:
        row = (
            await locked_row(self.session, delegated_tokens.c.token_id, token_id)
            if lock
            else (
                await self.session.execute(
                    select(delegated_tokens).where(delegated_tokens.c.token_id == token_id)
                )
            )
            .mappings()
            .first()
        )
        if row is None:
            return None
        return DelegatedToken(
            status=str(row["status"]), checkout_id=row["checkout_id"],
            max_amount_cents=int(row["max_amount_cents"]), currency=str(row["currency"]),
            outcome=str(row["outcome"]),
        )  # fmt: skip

    async def declined(self, base: dict[str, Any], code: str, reason: str) -> None:
        await self.session.execute(
            insert(payments).values(
                **base, status=Status.DECLINED, failure_code=code, failure_reason=reason
            )
        )

    async def captured(self, base: dict[str, Any], amount: int) -> None:
        """A charge authorised and captured at once, with both entries in the ledger."""
        await execute(
            self.session, _CAPTURED, base["payment_id"], base["checkout_id"], base["user_id"],
            base["token"], base["currency"], Status.CAPTURED.value, amount,
        )  # fmt: skip

    async def void(self, checkout_id: uuid.UUID, reason: str) -> None:
        """A compensation that overtook its charge: a late charge of the checkout is refused."""
        await self.session.execute(
            insert(payments).values(
                payment_id=uuid.uuid4(), checkout_id=checkout_id, user_id="unknown",
                token="void", currency="USD", status=Status.VOIDED, failure_reason=reason,
            )
        )  # fmt: skip

    async def refunded_for(self, reference: str) -> int | None:
        """The amount already refunded under this reference, if any."""
        done: int | None = await self.session.scalar(
            select(ledger.c.amount_cents).where(ledger.c.reference == reference)
        )
        return done

    async def refund(
        self, payment: Payment, amount: int, reference: str, *, refunded: int, status: Status
    ) -> None:
        """Record a refund in the ledger and on the payment (its new totals and status)."""
        await self.session.execute(
            insert(ledger).values(
                payment_id=payment.payment_id, kind="refund", amount_cents=amount,
                reference=reference,
            )
        )  # fmt: skip
        await self.session.execute(
            update(payments)
            .where(payments.c.payment_id == payment.payment_id)
            .values(refunded_cents=refunded, status=status, updated_at=func.now())
        )
