"""The refund service declaration.

Consumes `CheckoutCompleted` (its projection of refundable orders) and
`RefundSucceeded` / `RefundFailed` on `refunds.events`; publishes `RefundPayment` on
`refunds.command` and `NotificationRequested` to the customer.
"""

from __future__ import annotations

from pathlib import Path

from commerce.contracts.checkout import CheckoutCompleted
from commerce.contracts.refunds import RefundFailed, RefundSucceeded
from commerce.platform.consumer import Handler
from commerce.platform.service import Service
from commerce.refund import handlers
from commerce.refund.routes import router
from commerce.refund.tables import metadata

service = Service(
    name="refund",
    title="agentshop refund",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    router=router,
    handlers=[
        Handler(CheckoutCompleted, handlers.on_completed),
        Handler(RefundSucceeded, handlers.on_succeeded),
        Handler(RefundFailed, handlers.on_failed),
    ],
)
