"""discount-engine's storage: rules and coupon redemptions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.discount.domain import Rule
from commerce.discount.tables import redemptions, rules
from commerce.platform.db import as_dict, columns, fetch


def to_rule(row: Any) -> Rule:
    values = dict(row)
    values.pop("created_at", None)
    values["scope_values"] = tuple(values["scope_values"] or ())
    return Rule(**values)


_AUTOMATIC = (
    f"SELECT {columns(rules)} FROM {rules.name}"
    " WHERE active AND coupon_code IS NULL AND (starts_at IS NULL OR starts_at <= $1)"
    " AND (ends_at IS NULL OR ends_at > $1) ORDER BY id"
)


class DiscountStore:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def automatic_rules(self, now: datetime) -> list[Rule]:
        """The active rules without a coupon that apply at `now`, in id order."""
        return [to_rule(as_dict(r)) for r in await fetch(self.session, _AUTOMATIC, now)]

    async def coupon(self, code: str) -> Rule | None:
        """The rule of a coupon code (any case)."""
        query = select(rules).where(func.upper(rules.c.coupon_code) == code.upper())
        row = (await self.session.execute(query)).mappings().first()
        return to_rule(row) if row else None

    async def redemptions(self, rule_id: int, user_id: str | None = None) -> int:
        """How often a rule's coupon was used (by this customer, when given)."""
        query = (
            select(func.count()).select_from(redemptions).where(redemptions.c.rule_id == rule_id)
        )
        if user_id is not None:
            query = query.where(redemptions.c.user_id == user_id)
        return int(await self.session.scalar(query) or 0)

    async def redeem(self, checkout_id: uuid.UUID, code: str, user_id: str) -> None:
        """Count a coupon's use by a checkout (once per checkout; unknown codes are ignored)."""
        rule_id = await self.session.scalar(
            select(rules.c.id).where(func.upper(rules.c.coupon_code) == code.upper())
        )
        if rule_id is None:
            return
        await self.session.execute(
            insert(redemptions)
            .values(checkout_id=checkout_id, rule_id=rule_id, user_id=user_id)
            .on_conflict_do_nothing()
        )

    async def all_rules(self) -> list[dict[str, Any]]:
        rows = await self.session.execute(select(rules).order_by(rules.c.id))
        return [dict(r) for r in rows.mappings()]

    async def coupon_taken(self, code: str) -> bool:
        found = await self.session.scalar(select(rules.c.id).where(rules.c.coupon_code == code))
        return bool(found)

    async def add(self, values: dict[str, Any]) -> dict[str, Any]:
        row = (
            (await self.session.execute(insert(rules).values(**values).returning(rules)))
            .mappings()
            .one()
        )
        return dict(row)

    async def get(self, rule_id: int) -> dict[str, Any] | None:
        row = (
            (await self.session.execute(select(rules).where(rules.c.id == rule_id)))
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    async def change(self, rule_id: int, changes: dict[str, Any]) -> None:
        await self.session.execute(rules.update().where(rules.c.id == rule_id).values(**changes))

    async def count_rules(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(rules)) or 0)
