"""The discount-engine service declaration.

Consumes `CheckoutCompleted` (checkout.checkout-events) to count coupon redemptions.
"""

from __future__ import annotations

from pathlib import Path

from commerce.contracts.checkout import CheckoutCompleted
from commerce.discount.handlers import record_redemption, used_a_coupon
from commerce.discount.routes import router
from commerce.discount.seed import seed
from commerce.discount.tables import metadata
from commerce.platform.consumer import Handler
from commerce.platform.service import Service

service = Service(
    name="discount-engine",
    title="agentshop discount-engine",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    router=router,
    handlers=[Handler(CheckoutCompleted, record_redemption, wanted=used_a_coupon)],
    seed=seed,
)
