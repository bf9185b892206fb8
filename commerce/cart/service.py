"""The cart service declaration.

Consumes `checkout.cart-command` (ClearCart); publishes CartCleared.
"""

from __future__ import annotations

from pathlib import Path

from commerce.cart import handlers
from commerce.cart.routes import router
from commerce.cart.tables import metadata
from commerce.contracts.checkout import ClearCart
from commerce.platform.consumer import Handler
from commerce.platform.service import Service

service = Service(
    name="cart",
    title="agentshop cart",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    router=router,
    handlers=[Handler(ClearCart, handlers.clear)],
)
