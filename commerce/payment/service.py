"""The payment-gateway service declaration.

Consumes `checkout.payment-command` (ProcessPayment, CompensatePayment) and
`refunds.command` (RefundPayment); publishes PaymentProcessed / PaymentFailed /
PaymentRefunded to `checkout.checkout-events` and RefundSucceeded / RefundFailed
to `refunds.events`.
"""

from __future__ import annotations

from pathlib import Path

from commerce.contracts.checkout import CompensatePayment, ProcessPayment
from commerce.contracts.refunds import RefundPayment
from commerce.payment import delegated, handlers
from commerce.payment.routes import router
from commerce.payment.tables import metadata
from commerce.platform.consumer import Handler
from commerce.platform.service import Service

service = Service(
    name="payment-gateway",
    title="agentshop payment-gateway",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    router=router,
    configure_app=delegated.install,
    handlers=[
        Handler(ProcessPayment, handlers.process, prepare=handlers.card_network),
        Handler(CompensatePayment, handlers.compensate),
        Handler(RefundPayment, handlers.refund),
    ],
)
