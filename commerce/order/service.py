"""The order service declaration.

Consumes `checkout.order-command` (CreateOrder), `checkout.checkout-events`
(CheckoutCompleted → confirmed, CheckoutFailed → cancelled) and `refunds.events`
(RefundSucceeded → refund recorded; the refund that cancels an order → cancelled);
publishes OrderCreated / OrderCreationFailed, OrderStatusChanged on `orders.events`, and
RestockInventory on `checkout.inventory-command` when a sold order is cancelled.
"""

from __future__ import annotations

from pathlib import Path

from commerce.contracts.checkout import CheckoutCompleted, CheckoutFailed, CreateOrder
from commerce.contracts.refunds import RefundSucceeded
from commerce.order import handlers
from commerce.order.routes import router
from commerce.order.seed import seed
from commerce.order.tables import metadata
from commerce.platform.consumer import Handler
from commerce.platform.service import Service

service = Service(
    name="order",
    title="agentshop order",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    router=router,
    handlers=[
        Handler(CreateOrder, handlers.create),
        Handler(CheckoutCompleted, handlers.confirm),
        Handler(CheckoutFailed, handlers.cancel_failed),
        Handler(RefundSucceeded, handlers.refunded),
    ],
    seed=seed,
)
