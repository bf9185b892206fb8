"""The inventory service declaration.

Consumes `checkout.inventory-command` (ReserveInventory, CompensateInventory,
CommitInventory, and RestockInventory from the order service); publishes InventoryReserved / InventoryReservationFailed /
InventoryReleased / InventoryCommitted to `checkout.checkout-events`.
"""

from __future__ import annotations

from pathlib import Path

from commerce.contracts.checkout import CommitInventory, CompensateInventory, ReserveInventory
from commerce.contracts.orders import RestockInventory
from commerce.inventory import handlers
from commerce.inventory.routes import router
from commerce.inventory.seed import seed
from commerce.inventory.tables import metadata
from commerce.platform.consumer import Handler
from commerce.platform.service import Service

service = Service(
    name="inventory",
    title="agentshop inventory",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    router=router,
    handlers=[
        Handler(ReserveInventory, handlers.reserve),
        Handler(CompensateInventory, handlers.compensate),
        Handler(CommitInventory, handlers.commit),
        Handler(RestockInventory, handlers.restock),
    ],
    background=[handlers.sweeper],
    seed=seed,
)
