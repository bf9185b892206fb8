"""The checkout-orchestrator service declaration.

Consumes `checkout.initiate-command` (InitiateCheckoutCommand) and the saga's
events on `checkout.checkout-events`; sends ReserveInventory, ProcessPayment,
CreateOrder, ClearCart, CommitInventory and the compensations, publishes
NotificationRequested and CheckoutCompleted / CheckoutFailed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from commerce.checkout import followup, handlers
from commerce.checkout.routes import router
from commerce.checkout.tables import metadata
from commerce.contracts.checkout import (
    InitiateCheckoutCommand,
    InventoryReleased,
    InventoryReservationFailed,
    InventoryReserved,
    OrderCreated,
    OrderCreationFailed,
    PaymentFailed,
    PaymentProcessed,
    PaymentRefunded,
)
from commerce.platform.consumer import Handler
from commerce.platform.service import Service

SAGA_EVENTS: list[Any] = [
    InventoryReserved, InventoryReservationFailed, InventoryReleased, PaymentProcessed,
    PaymentFailed, PaymentRefunded, OrderCreated, OrderCreationFailed,
]  # fmt: skip
"""The events that can move a saga. Not `CartCleared` (nor `InventoryCommitted`): they
answer commands sent once the saga is over, which change nothing in it; the follow-up
confirms those commands by their consumers' inboxes (docs/adr/0049)."""

service = Service(
    name="checkout-orchestrator",
    title="agentshop checkout-orchestrator",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    router=router,
    handlers=[
        Handler(InitiateCheckoutCommand, handlers.initiate, prepare=handlers.price_first),
        *(Handler(event, handlers.on_event) for event in SAGA_EVENTS),
    ],
    background=[handlers.sweeper, followup.follow_up],
)
