"""A shopper changes their home address: `PUT /v1/me/address` through the BFF, and the web
UI's Account page that sends it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ServiceStack
from tests.e2e.helpers import closing, signed_in
from tests.e2e.helpers import run_app as run

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"
SEATTLE = {"name": "Carla Diaz", "line1": "500 Pine St", "line2": "Apt 4", "city": "Seattle",
           "region": "WA", "postal_code": "98101", "country": "US"}  # fmt: skip


async def test_a_shopper_changes_their_address_and_bad_fields_are_named(
    stack: ServiceStack,
) -> None:
    await stack.ensure("gateway-bff")
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        before = (await carla.get("/v1/me")).json()["address"]
        try:
            changed = await carla.put("/v1/me/address", json=SEATTLE)
            assert changed.status_code == 200, changed.text
            assert changed.json()["address"] == SEATTLE
            assert (await carla.get("/v1/me")).json()["address"] == SEATTLE
            # invalid input: 422 naming the field, and nothing changed
            for body, field in (
                ({**SEATTLE, "country": "usa"}, "country"),
                ({k: v for k, v in SEATTLE.items() if k != "city"}, "city"),
                ({**SEATTLE, "postal_code": ""}, "postal_code"),
                ({**SEATTLE, "planet": "Mars"}, "planet"),
            ):
                refused = await carla.put("/v1/me/address", json=body)
                assert refused.status_code == 422, (field, refused.text)
                error = refused.json()["error"]
                assert field in (error["param"] or "") + error["message"], (field, error)
            nul = await carla.put("/v1/me/address", json={**SEATTLE, "line1": "1 Main\x00St"})
            assert nul.status_code == 422 and nul.json()["error"]["code"] == "invalid_characters"
            assert (await carla.get("/v1/me")).json()["address"] == SEATTLE
            anonymous = await carla.put(
                "/v1/me/address", json=SEATTLE, headers={"Authorization": ""}
            )
            assert anonymous.status_code == 401
        finally:
            assert (await carla.put("/v1/me/address", json=before)).status_code == 200


def shown(app: AppTest) -> str:
    return "\n".join(
        str(e.value) for kind in ("caption", "error", "success") for e in getattr(app, kind)
    )


async def test_the_account_page_changes_the_address(stack: ServiceStack, bff_url: str) -> None:
    await stack.ensure("gateway-bff")
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        before: dict[str, Any] = (await carla.get("/v1/me")).json()["address"]
        app = AppTest.from_file(str(APP), default_timeout=60)
        await run(app)
        app.text_input(key="email").input("carla@example.com")
        app.text_input(key="password").input("carla-demo-pass")
        next(b for b in app.button if b.label == "Sign in").click()
        await run(app)
        try:
            app.sidebar.radio(key="page").set_value("Account")
            await run(app)
            assert not app.exception, app.exception
            assert app.text_input(key="address-city").value == before["city"]
            app.text_input(key="address-country").input("usa")
            next(b for b in app.button if b.label == "Save address").click()
            await run(app)
            assert "country" in "\n".join(str(e.value) for e in app.error).lower(), shown(app)
            for field in ("name", "line1", "line2", "city", "region", "postal_code"):
                app.text_input(key=f"address-{field}").input(SEATTLE[field])
            app.text_input(key="address-country").input("us")  # capitalised for the person
            next(b for b in app.button if b.label == "Save address").click()
            await run(app)
            assert not app.exception and not app.error, shown(app)
            assert "Checkouts now ship to Carla Diaz, 500 Pine St" in shown(app), shown(app)
            assert (await carla.get("/v1/me")).json()["address"] == SEATTLE
        finally:
            assert (await carla.put("/v1/me/address", json=before)).status_code == 200
