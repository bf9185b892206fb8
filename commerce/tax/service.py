"""The tax-calculation service declaration (HTTP only)."""

from __future__ import annotations

from pathlib import Path

from commerce.platform.service import Service
from commerce.tax.routes import router
from commerce.tax.seed import seed
from commerce.tax.tables import metadata

service = Service(
    name="tax-calculation",
    title="agentshop tax-calculation",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    router=router,
    seed=seed,
)
