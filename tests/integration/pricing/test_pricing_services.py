"""discount-engine and tax-calculation over HTTP against the real database."""

from __future__ import annotations

import uuid

import pytest

from tests.conftest import ServiceStack

pytestmark = pytest.mark.integration
CA = {
    "name": "A",
    "line1": "1 Main St",
    "city": "San Francisco",
    "region": "CA",
    "postal_code": "94105",
    "country": "US",
}


async def test_tax_by_region_and_class_and_unsupported_addresses(stack: ServiceStack) -> None:
    await stack.ensure("tax-calculation")
    async with stack.client("tax-calculation") as http:
        body = {
            "shipping_address": CA, "shipping_cents": 599,
            "lines": [{"sku": "A", "quantity": 2, "unit_price_cents": 939, "discount_cents": 188},
                      {"sku": "B", "quantity": 1, "unit_price_cents": 1099, "tax_class": "reduced"}],
        }  # fmt: skip
        taxed = (await http.post("/calculate-tax", json=body)).json()
        assert taxed["jurisdiction"] == "US-CA" and taxed["tax_cents"] == 123
        assert [li["rate_bps"] for li in taxed["lines"]] == [725, 0]
        uk = {**body, "shipping_address": {**CA, "region": None, "country": "GB"}}
        british = (await http.post("/calculate-tax", json=uk)).json()
        assert (
            british["jurisdiction"] == "GB" and british["shipping_tax_cents"] == 120
        )  # 20% of 5.99
        for address in ({**CA, "country": "ZZ"}, {**CA, "region": "XX"}):
            refused = await http.post("/calculate-tax", json={**body, "shipping_address": address})
            assert (
                refused.status_code == 422
                and refused.json()["detail"]["code"] == "unsupported_address"
            )
        assert (await http.post("/calculate-tax", json={**body, "lines": []})).status_code == 422
        bad = await http.post(
            "/calculate-tax",
            json={**body, "lines": [{"sku": "A", "quantity": 1, "unit_price_cents": -1}]},
        )
        assert bad.status_code == 422
        updated = await http.put("/rates/US/NV/standard", json={"rate_bps": 685})
        assert updated.status_code == 200
        assert (
            await http.put("/rates/US/NV/standard", json={"rate_bps": 20000})
        ).status_code == 422


async def test_discounts_coupons_and_rules(stack: ServiceStack) -> None:
    await stack.ensure("discount-engine")
    user = f"u-{uuid.uuid4().hex[:8]}"
    lines = [{"sku": "A", "category": "office", "quantity": 2, "unit_price_cents": 939},
             {"sku": "B", "category": "office", "quantity": 1, "unit_price_cents": 999}]  # fmt: skip
    async with stack.client("discount-engine") as http:
        saved = (
            await http.post(
                "/calculate-discounts",
                json={"user_id": user, "coupon_code": "save10", "lines": lines},
            )
        ).json()
        assert saved["total_discount_cents"] == 287
        assert {li["sku"]: li["discount_cents"] for li in saved["lines"]} == {"A": 187, "B": 100}
        assert saved["applied"][0]["code"] == "SAVE10"
        for code, reason in (("NOPE", "does not exist"), ("SUMMER2025", "expired")):
            refused = await http.post(
                "/calculate-discounts", json={"coupon_code": code, "lines": lines}
            )
            assert refused.status_code == 422 and reason in refused.json()["detail"]["message"]
        small = await http.post(
            "/calculate-discounts", json={"coupon_code": "SAVE10", "lines": lines[:1]}
        )
        assert small.status_code == 422 and "at least $20.00" in small.json()["detail"]["message"]
        toys = [{"sku": "T", "category": "toys", "quantity": 3, "unit_price_cents": 1000}]
        assert (await http.post("/calculate-discounts", json={"lines": toys})).json()[
            "total_discount_cents"
        ] == 1000
        code = f"T{uuid.uuid4().hex[:8].upper()}"
        created = await http.post(
            "/rules",
            json={
                "name": "test",
                "kind": "fixed",
                "value": 250,
                "coupon_code": code,
                "usage_limit": 1,
            },
        )
        assert created.status_code == 201
        rule_id = created.json()["id"]
        assert (
            await http.post(
                "/rules", json={"name": "dup", "kind": "fixed", "value": 1, "coupon_code": code}
            )
        ).status_code == 409
        assert (
            await http.post("/rules", json={"name": "bad", "kind": "percent", "value": 0})
        ).status_code == 422
        assert (
            await http.post(
                "/calculate-discounts", json={"coupon_code": code.lower(), "lines": lines}
            )
        ).json()["total_discount_cents"] == 250
        assert (await http.patch(f"/rules/{rule_id}", json={"active": False})).json()[
            "active"
        ] is False
        assert (
            await http.post("/calculate-discounts", json={"coupon_code": code, "lines": lines})
        ).status_code == 422
        assert (await http.get("/rules/999999")).status_code == 404
        duplicate_skus = await http.post(
            "/calculate-discounts", json={"lines": [lines[0], lines[0]]}
        )
        assert duplicate_skus.status_code == 422


async def test_promotions_are_the_rules_on_offer_now(stack: ServiceStack) -> None:
    await stack.ensure("discount-engine")
    async with stack.client("discount-engine") as http:
        code = f"P{uuid.uuid4().hex[:8].upper()}"
        later = {"name": f"later {code}", "kind": "fixed", "value": 100,
                 "starts_at": "2999-01-01T00:00:00Z"}  # fmt: skip
        on = {"name": f"on {code}", "kind": "fixed", "value": 100, "coupon_code": code}
        created = [(await http.post("/rules", json=rule)).json() for rule in (later, on)]
        offered = (await http.get("/promotions")).json()
        names = [p["name"] for p in offered]
        # seeded: the running ones are listed, the ended summer coupon is not
        assert "10% off orders of $20 or more" in names and "Summer 2025: 20% off" not in names
        assert f"on {code}" in names and f"later {code}" not in names
        assert next(p for p in offered if p["name"] == f"on {code}")["coupon_code"] == code
        await http.patch(f"/rules/{created[1]['id']}", json={"active": False})
        assert f"on {code}" not in [p["name"] for p in (await http.get("/promotions")).json()]
