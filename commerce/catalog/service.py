"""The catalog service declaration (the roadmap's product-read). HTTP only; it reads
stock levels from inventory's API for the products it returns."""

from __future__ import annotations

from pathlib import Path

from commerce.catalog.routes import router, warm_up
from commerce.catalog.seed import seed
from commerce.catalog.tables import metadata
from commerce.platform.service import Service

service = Service(
    name="catalog",
    title="agentshop catalog",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    router=router,
    seed=seed,
    background=[warm_up],
)
