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

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, select

from commerce.contracts.checkout import InitiateCheckoutCommand
from commerce.platform.delivery import DeliveryLedger
from commerce.platform.service import ServiceRuntime


class DeliverySettings(BaseSettings):
    """GATEWAY_BFF_CHECKOUT_CONFIRM_SECONDS (15): how long a checkout's saga may take to
    appear before its command is sent again; GATEWAY_BFF_CHECKOUT_FOLLOW_SECONDS (3600): how
    long a command is followed; GATEWAY_BFF_DELIVERY_CHECK_SECONDS (2): how often."""

    model_config = SettingsConfigDict(env_prefix="GATEWAY_BFF_", extra="ignore")
    checkout_confirm_seconds: float = Field(15.0, gt=0)
    checkout_follow_seconds: float = Field(3600.0, gt=0)
    delivery_check_seconds: float = Field(2.0, gt=0)


async def follow_checkouts(runtime: ServiceRuntime) -> None:
    """Background task: follow every InitiateCheckoutCommand until the saga has it."""
    settings = DeliverySettings()
    ledger = DeliveryLedger(
        runtime, grace=settings.checkout_confirm_seconds, window=settings.checkout_follow_seconds
    )
    runtime.state["checkout_delivery"] = ledger
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
