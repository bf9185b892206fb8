"""Every accepted checkout reaches the saga: InitiateCheckoutCommand confirmed end to end.

`POST /v1/checkouts` answers 202 once the command is in the BFF's outbox. The relay sends
it; a broker that loses it before checkout-orchestrator consumed it would leave the
checkout `submitted` for ever. So the BFF follows each command it sent
(`commerce.platform.delivery`): when the orchestrator's inbox does not hold it after
GATEWAY_BFF_CHECKOUT_CONFIRM_SECONDS, the same command (same message id, same checkout id:
the orchestrator makes one saga of it whatever happens) is sent again. See docs/adr/0020.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from commerce.contracts.checkout import InitiateCheckoutCommand
from commerce.platform.delivery import DeliveryLedger
from commerce.platform.service import ServiceRuntime, Slot

LEDGER: Slot[DeliveryLedger] = Slot(
    lambda runtime: DeliveryLedger(
        runtime,
        grace=runtime.settings.bff.delivery.checkout_confirm_seconds,
        window=runtime.settings.bff.delivery.checkout_follow_seconds,
    )
)
"""The InitiateCheckoutCommands the BFF follows (one per runtime)."""


async def follow_checkouts(runtime: ServiceRuntime) -> None:
    """Background task: follow every InitiateCheckoutCommand until the saga has it."""
    settings = runtime.settings.bff.delivery
    ledger = LEDGER.of(runtime)
    outbox = runtime.tables.outbox
    cursor = 0
    window = func.make_interval(0, 0, 0, 0, 0, 0, settings.checkout_follow_seconds)
    while True:
        async with runtime.db.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        outbox.c.id,
                        outbox.c.message_id,
                        func.extract("epoch", func.now() - outbox.c.created_at).label("age"),
                    )
                    .where(
                        outbox.c.id > cursor,
                        outbox.c.type == InitiateCheckoutCommand.TYPE,
                        outbox.c.created_at > func.now() - window,
                    )
                    .order_by(outbox.c.id)
                    .limit(5000)
                )
            ).all()
        for row in rows:
            ledger.follow(
                row.message_id, "checkout-orchestrator", InitiateCheckoutCommand.TYPE,
                float(row.age),
            )  # fmt: skip
            cursor = row.id
        await ledger.reconcile()
        await asyncio.sleep(settings.delivery_check_seconds)
