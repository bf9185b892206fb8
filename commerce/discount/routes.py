"""discount-engine's HTTP API: `POST /calculate-discounts` and rule management."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.discount.domain import (
    CouponInvalid,
    Kind,
    Line,
    Scope,
    apply_rules,
    check_coupon,
    running,
)
from commerce.discount.store import DiscountStore, to_rule
from commerce.platform.service import RuntimeDep

router = APIRouter(tags=["discounts"])


class DiscountLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str = Field(min_length=1, max_length=64)
    product_id: str | None = Field(None, max_length=64)
    category: str | None = Field(None, max_length=64)
    quantity: int = Field(ge=1, le=1000)
    unit_price_cents: int = Field(ge=0, le=100_000_000)


class DiscountRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"user_id": "user_123", "currency": "USD", "coupon_code": "SAVE10",
                          "lines": [{"sku": "BAT-AA-8", "product_id": "p-battery-aa", "category": "electronics", "quantity": 2, "unit_price_cents": 939},
                                    {"sku": "CBL-USBC-2M-BLA", "product_id": "p-cable-usbc", "category": "electronics", "quantity": 1, "unit_price_cents": 999}]}]
        },
    )  # fmt: skip
    user_id: str | None = Field(None, max_length=64)
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    coupon_code: str | None = Field(None, min_length=1, max_length=64)
    lines: list[DiscountLineIn] = Field(min_length=1, max_length=200)

    @model_validator(mode="after")
    def _unique_skus(self) -> DiscountRequest:
        if len({line.sku for line in self.lines}) != len(self.lines):
            raise ValueError("lines: each SKU may appear once")
        return self


class LineDiscount(BaseModel):
    sku: str
    discount_cents: int


class AppliedRule(BaseModel):
    rule_id: int
    name: str
    code: str | None
    discount_cents: int


class DiscountResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"total_discount_cents": 287, "currency": "USD",
                          "lines": [{"sku": "BAT-AA-8", "discount_cents": 187}, {"sku": "CBL-USBC-2M-BLA", "discount_cents": 100}],
                          "applied": [{"rule_id": 1, "name": "10% off orders of $20 or more", "code": "SAVE10", "discount_cents": 287}]}]
        }
    )  # fmt: skip
    total_discount_cents: int
    currency: str
    lines: list[LineDiscount]
    applied: list[AppliedRule]


class RuleIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "10% off outdoors", "kind": "percent", "value": 1000, "scope": "category", "scope_values": ["outdoors"]}]},
    )  # fmt: skip
    name: str = Field(min_length=1, max_length=200)
    kind: Kind
    value: int = Field(
        0, ge=0, description="Basis points for percent (1000 = 10%), cents for fixed"
    )
    scope: Scope = "order"
    scope_values: list[str] = Field(default_factory=list, max_length=500)
    min_subtotal_cents: int = Field(0, ge=0)
    coupon_code: str | None = Field(None, min_length=3, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    buy_x: int = Field(0, ge=0, le=100)
    get_y: int = Field(0, ge=0, le=100)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = Field(None, ge=1)
    once_per_customer: bool = False
    active: bool = True

    @model_validator(mode="after")
    def _consistent(self) -> RuleIn:
        if self.kind == "percent" and not 0 < self.value <= 10_000:
            raise ValueError("value: a percentage is 1..10000 basis points")
        if self.kind == "fixed" and self.value <= 0:
            raise ValueError("value: a fixed discount must be positive")
        if self.kind == "buy_x_get_y" and (self.buy_x < 1 or self.get_y < 1):
            raise ValueError("buy_x and get_y must be at least 1")
        if self.scope != "order" and not self.scope_values:
            raise ValueError("scope_values: name the categories or SKUs")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        return self


class RulePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"active": False}]})
    name: str | None = Field(None, min_length=1, max_length=200)
    active: bool | None = None
    ends_at: datetime | None = None
    usage_limit: int | None = Field(None, ge=1)


class RulePublic(RuleIn):
    model_config = ConfigDict(extra="ignore")
    id: int


def invalid(message: str) -> HTTPException:
    return HTTPException(422, detail={"code": "coupon_invalid", "message": message})


async def calculate(session: AsyncSession, body: DiscountRequest) -> DiscountResponse:
    lines = [Line(li.sku, li.category, li.quantity, li.unit_price_cents) for li in body.lines]
    subtotal = sum(line.amount for line in lines)
    now = datetime.now(UTC)
    store = DiscountStore(session)
    chosen = await store.automatic_rules(now)
    if body.coupon_code:
        code = body.coupon_code.upper()
        rule = await store.coupon(code)
        used = by_customer = 0
        if rule is not None:
            used = await store.redemptions(rule.id)
            if body.user_id:
                by_customer = await store.redemptions(rule.id, body.user_id)
        try:
            chosen.append(
                check_coupon(
                    rule,
                    code,
                    now=now,
                    subtotal=subtotal,
                    used=used,
                    used_by_customer=bool(by_customer),
                )
            )
        except CouponInvalid as exc:
            raise invalid(str(exc)) from exc
    applied = apply_rules(lines, chosen, subtotal)
    per_line = {line.sku: 0 for line in lines}
    for a in applied:
        for sku, cents in a.per_line.items():
            per_line[sku] += cents
    return DiscountResponse(
        total_discount_cents=sum(per_line.values()), currency=body.currency,
        lines=[LineDiscount(sku=s, discount_cents=c) for s, c in per_line.items()],
        applied=[AppliedRule(rule_id=a.rule.id, name=a.rule.name, code=a.rule.coupon_code, discount_cents=a.discount_cents) for a in applied],
    )  # fmt: skip


@router.post(
    "/calculate-discounts", operation_id="discounts-calculate", response_model=DiscountResponse
)
async def calculate_discounts(runtime: RuntimeDep, body: DiscountRequest) -> DiscountResponse:
    """Discounts for cart lines. An unusable coupon → 422 `coupon_invalid` with the reason."""
    async with runtime.db.reads() as session:
        return await calculate(session, body)


@router.get("/rules", operation_id="rules-list", response_model=list[RulePublic], tags=["rules"])
async def list_rules(runtime: RuntimeDep) -> list[RulePublic]:
    async with runtime.db.sessions() as session:
        return [RulePublic(**r) for r in await DiscountStore(session).all_rules()]


class PromotionPublic(BaseModel):
    """A promotion on offer now: applied by itself (`coupon_code` null) or with its code."""

    name: str
    coupon_code: str | None = None
    ends_at: datetime | None = None


@router.get(
    "/promotions", operation_id="promotions-list", response_model=list[PromotionPublic],
    tags=["rules"],
)  # fmt: skip
async def list_promotions(runtime: RuntimeDep) -> list[PromotionPublic]:
    """The rules on offer now (active, started, not ended), in id order."""
    now = datetime.now(UTC)
    async with runtime.db.sessions() as session:
        rules = [to_rule(r) for r in await DiscountStore(session).all_rules()]
    return [
        PromotionPublic(name=r.name, coupon_code=r.coupon_code, ends_at=r.ends_at)
        for r in rules
        if running(r, now)
    ]


@router.post(
    "/rules",
    operation_id="rules-create",
    response_model=RulePublic,
    status_code=201,
    tags=["rules"],
)
async def create_rule(runtime: RuntimeDep, body: RuleIn) -> RulePublic:
    values = body.model_dump()
    if values["coupon_code"]:
        values["coupon_code"] = values["coupon_code"].upper()
    async with runtime.db.transaction() as session:
        store = DiscountStore(session)
        if values["coupon_code"] and await store.coupon_taken(values["coupon_code"]):
            raise HTTPException(
                409,
                detail={
                    "code": "duplicate_coupon",
                    "message": f"The coupon {values['coupon_code']} already exists.",
                },
            )
        row = await store.add(values)
    return RulePublic(**row)


async def _one(runtime: RuntimeDep, rule_id: int) -> RulePublic:
    async with runtime.db.sessions() as session:
        row = await DiscountStore(session).get(rule_id)
    if row is None:
        raise HTTPException(404, detail={"code": "not_found", "message": f"No rule {rule_id}."})
    return RulePublic(**row)


@router.get("/rules/{rule_id}", operation_id="rules-get", response_model=RulePublic, tags=["rules"])
async def get_rule(runtime: RuntimeDep, rule_id: Annotated[int, Path(ge=1)]) -> RulePublic:
    return await _one(runtime, rule_id)


@router.patch(
    "/rules/{rule_id}", operation_id="rules-update", response_model=RulePublic, tags=["rules"]
)
async def update_rule(
    runtime: RuntimeDep, rule_id: Annotated[int, Path(ge=1)], body: RulePatch
) -> RulePublic:
    await _one(runtime, rule_id)
    changes = body.model_dump(exclude_unset=True)
    if changes:
        async with runtime.db.transaction() as session:
            await DiscountStore(session).change(rule_id, changes)
    return await _one(runtime, rule_id)


@router.delete("/rules/{rule_id}", operation_id="rules-delete", status_code=204, tags=["rules"])
async def delete_rule(runtime: RuntimeDep, rule_id: Annotated[int, Path(ge=1)]) -> Response:
    """Deactivates the rule (redemptions keep pointing at it)."""
    await _one(runtime, rule_id)
    async with runtime.db.transaction() as session:
        await DiscountStore(session).change(rule_id, {"active": False})
    return Response(status_code=204)
