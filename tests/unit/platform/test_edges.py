"""The edge checks and trust rules as pure logic (no database, no broker)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import ValidationError

from bff.auth import FailureCounter
from bff.services.checkout import safe_for_person
from commerce.contracts.checkout import PaymentProcessed
from commerce.contracts.refunds import RefundPayment
from commerce.contracts.values import MAX_CENTS, Totals
from commerce.platform import apidocs
from commerce.platform.edges import (
    SERVICE_TOKEN_HEADER,
    Edge,
    default_error_response,
    has_control_characters,
)
from shopapi.client import seg


def test_control_characters_are_found_in_any_string_or_key() -> None:
    assert has_control_characters({"a": ["ok", {"b": "x\x00y"}]})
    assert has_control_characters({"k\x1b": 1})
    assert has_control_characters("\x7f")
    assert not has_control_characters({"reason": "two lines\nand a\ttab\r\n", "n": 3})


def test_money_is_bounded_to_what_the_services_store() -> None:
    ok = {"refund_id": str(uuid.uuid4()), "order_id": str(uuid.uuid4()),
          "checkout_id": str(uuid.uuid4()), "currency": "USD", "reason": "x"}  # fmt: skip
    assert RefundPayment.model_validate({**ok, "amount_cents": MAX_CENTS}).amount_cents == MAX_CENTS
    PaymentProcessed(
        checkout_id=uuid.uuid4(), payment_id=uuid.uuid4(), amount_cents=MAX_CENTS, currency="USD"
    )
    assert Totals(subtotal_cents=MAX_CENTS, total_cents=MAX_CENTS).total_cents == MAX_CENTS
    with pytest.raises(ValidationError):
        Totals(subtotal_cents=MAX_CENTS + 1, total_cents=MAX_CENTS + 1)
    with pytest.raises(ValidationError):
        PaymentProcessed(
            checkout_id=uuid.uuid4(),
            payment_id=uuid.uuid4(),
            amount_cents=MAX_CENTS + 1,
            currency="USD",
        )
    with pytest.raises(ValidationError):
        RefundPayment.model_validate(
            {"refund_id": str(uuid.uuid4()), "order_id": str(uuid.uuid4()),
             "checkout_id": str(uuid.uuid4()), "amount_cents": MAX_CENTS + 1, "currency": "USD",
             "reason": "x"}
        )  # fmt: skip


def test_failed_sign_ins_are_counted_in_a_window_with_bounded_memory() -> None:
    counter = FailureCounter(max_keys=3)
    for _ in range(2):
        counter.failed("account:a", window=60)
    assert counter.blocked_for("account:a", limit=3, window=60) == 0
    counter.failed("account:a", window=60)
    assert 0 < counter.blocked_for("account:a", limit=3, window=60) <= 60
    assert counter.blocked_for("account:a", limit=3, window=0.0) == 0  # the window is over
    for key in ("b", "c", "d", "e"):
        counter.failed(key, window=60)
    assert len(counter._counts) == 3


def test_a_timeline_entry_shows_no_token_and_a_redacted_contact() -> None:
    entry: dict[str, Any] = {
        "type": "InitiateCheckoutCommand",
        "payload": {
            "payment_token": "tok_visa",
            "contact": {"email": "carla@example.com", "phone": "+1 555 0100 42"},
            "lines": [{"sku": "A", "token": "x"}],
            "recipient": "carla@example.com",
        },
    }
    safe = safe_for_person(entry)
    assert "payment_token" not in safe["payload"] and "token" not in safe["payload"]["lines"][0]
    assert safe["payload"]["contact"] == {"email": "c***@example.com", "phone": "***42"}
    assert safe["payload"]["recipient"] == "c***@example.com"
    assert entry["payload"]["payment_token"] == "tok_visa"  # the original is left as it was


def test_a_path_segment_of_dots_is_encoded() -> None:
    assert seg("..") == "%2E%2E" and seg(".") == "%2E"
    assert seg("a/b") == "a%2Fb" and seg("BAT-AA-8") == "BAT-AA-8"


def _app(token: str | None) -> FastAPI:
    app = FastAPI()

    @app.post("/things")
    async def things(request: Request) -> dict[str, int]:
        return {"size": len(await request.body())}

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(
        Edge, max_body_bytes=1024, service_token=token, errors=lambda: default_error_response
    )
    return app


async def test_the_edge_refuses_big_bodies_control_characters_and_strangers() -> None:
    transport = httpx.ASGITransport(app=_app("s3cret"))
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        assert (await http.get("/healthz")).status_code == 200  # open without the token
        stranger = await http.post("/things", json={})
        assert stranger.status_code == 401
        assert stranger.json()["detail"]["code"] == "service_token_required"
        http.headers[SERVICE_TOKEN_HEADER] = "s3cret"
        ok = await http.post("/things", json={"a": "b"})
        assert ok.status_code == 200 and ok.headers["x-content-type-options"] == "nosniff"
        big = await http.post("/things", content=b"x" * 1025)
        assert big.status_code == 413 and big.json()["detail"]["code"] == "body_too_large"
        nul = await http.post("/things", json={"name": "a\x00b"})
        assert nul.status_code == 422 and nul.json()["detail"]["code"] == "invalid_characters"
        escaped = await http.post("/things", content=b'{"name": "a\\\\u0000b"}')
        assert escaped.status_code == 200  # a backslash and the text u0000, not a NUL
        query = await http.get("/healthz?q=%00")
        assert query.status_code == 422


async def test_the_api_reference_and_its_assets_are_open_and_name_no_other_host() -> None:
    app = FastAPI(docs_url=None, redoc_url=None)
    apidocs.install(app)
    app.add_middleware(
        Edge, max_body_bytes=1024, service_token="s3cret", errors=lambda: default_error_response
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        page = await http.get("/docs")  # without the token, like /healthz
        assert page.status_code == 200 and "SwaggerUIBundle" in page.text
        assert not re.search(r"(src|href)=['\"]?(https?:)?//", page.text), page.text
        for path in sorted(apidocs.ASSET_PATHS):
            asset = await http.get(path)
            assert asset.status_code == 200 and asset.content, path
        assert (await http.get("/docs/other.js")).status_code == 401  # the rest stays closed
