"""discount-engine's demo data: the seeded rules and coupons (also what plan-level evals
check coupons against)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from commerce.discount.routes import RuleIn
from commerce.discount.store import DiscountStore
from commerce.platform.db import Database

DEMO_RULES: list[dict[str, Any]] = [
    {"name": "10% off orders of $20 or more", "kind": "percent", "value": 1000, "coupon_code": "SAVE10", "min_subtotal_cents": 2000},
    {"name": "$5 off your first order", "kind": "fixed", "value": 500, "coupon_code": "WELCOME5", "once_per_customer": True},
    {"name": "10% off outdoors", "kind": "percent", "value": 1000, "scope": "category", "scope_values": ["outdoors"]},
    {"name": "Toys: buy 2, get 1 free", "kind": "buy_x_get_y", "scope": "category", "scope_values": ["toys"], "buy_x": 2, "get_y": 1},
    {"name": "Summer 2025: 20% off", "kind": "percent", "value": 2000, "coupon_code": "SUMMER2025",
     "starts_at": datetime(2025, 6, 1, tzinfo=UTC), "ends_at": datetime(2025, 9, 1, tzinfo=UTC)},
]  # fmt: skip


async def seed(db: Database) -> None:
    async with db.transaction() as session:
        store = DiscountStore(session)
        if await store.count_rules():
            return
        for rule in DEMO_RULES:
            await store.add(RuleIn.model_validate(rule).model_dump())
