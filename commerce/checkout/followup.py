"""What the saga sends after it finished is confirmed end to end, and sent again if lost.

Nothing answers CommitInventory's, ClearCart's, the confirmations' or CheckoutCompleted's
delivery in the saga itself: the saga is over. So the orchestrator follows each of them
(`commerce.platform.delivery`) until its consumer's inbox holds it: inventory for
CommitInventory, cart for ClearCart, the channel's service for NotificationRequested, refund
(its record of the order) for CheckoutCompleted. CHECKOUT_ORCHESTRATOR_FOLLOW_UP_SECONDS
(30) is the grace before the first check, CHECKOUT_ORCHESTRATOR_FOLLOW_UP_WINDOW_SECONDS
(3600) how long a message is followed. See docs/adr/0020.
"""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import func, select

from commerce.checkout.tables import saga_events
from commerce.contracts.checkout import CheckoutCompleted, ClearCart, CommitInventory
from commerce.contracts.notifications import NotificationRequested
from commerce.platform.delivery import DeliveryLedger
from commerce.platform.service import ServiceRuntime, Slot

CONSUMER = {
    CommitInventory.TYPE: "inventory",
    ClearCart.TYPE: "cart",
    CheckoutCompleted.TYPE: "refund",
}
CHANNEL_SERVICE = {"email": "email-service", "sms": "sms-service", "push": "push-service"}
FOLLOWED = [*CONSUMER, NotificationRequested.TYPE]


LEDGER: Slot[DeliveryLedger] = Slot(
    lambda runtime: DeliveryLedger(
        runtime,
        grace=runtime.settings.checkout.follow_up_seconds,
        window=runtime.settings.checkout.follow_up_window_seconds,
    )
)
"""The messages the orchestrator follows (one per runtime)."""


def consumer_of(type_name: str, payload: dict[str, Any]) -> str | None:
    if type_name == NotificationRequested.TYPE:
        return CHANNEL_SERVICE.get(str(payload.get("channel")))
    return CONSUMER.get(type_name)


async def follow_up(runtime: ServiceRuntime) -> None:
    """Background task: follow the saga's last messages until their consumers handled them."""
    settings = runtime.settings.checkout
    ledger = LEDGER.of(runtime)
    e = saga_events
    window = func.make_interval(0, 0, 0, 0, 0, 0, settings.follow_up_window_seconds)
    async with runtime.db.sessions() as session:  # from the first event within the window
        first = await session.scalar(select(func.min(e.c.id)).where(e.c.at > func.now() - window))
        if first is None:
            first = int(await session.scalar(select(func.max(e.c.id))) or 0) + 1
    cursor = int(first) - 1
    while True:
        async with runtime.db.sessions() as session:
            rows = (
                await session.execute(
                    select(
                        e.c.id,
                        e.c.message_id,
                        e.c.type,
                        e.c.payload,
                        func.extract("epoch", func.now() - e.c.at).label("age"),
                    )
                    .where(e.c.id > cursor, e.c.direction == "out", e.c.type.in_(FOLLOWED))
                    .order_by(e.c.id)
                    .limit(5000)
                )
            ).all()
        for row in rows:
            service = consumer_of(row.type, row.payload)
            if service is not None and row.message_id is not None:
                ledger.follow(row.message_id, service, row.type, float(row.age))
            cursor = row.id
        await ledger.reconcile()
        await asyncio.sleep(settings.follow_up_check_seconds)
