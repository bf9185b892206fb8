"""The BFF's OpenAPI document states every answer, and the one client of the API
(`shopapi.client`) asks only what the document offers and reads answers with the models
the document names."""

from __future__ import annotations

import re
from typing import Any, get_args

import pytest
from fastapi import FastAPI

from assistant.schemas import TurnState as AssistantTurnState
from bff import acp, acp_openapi, assistant, routes
from shopapi import client as api
from shopapi.schemas import TurnState

ADDRESS = {"name": "A", "line1": "1 Main St", "city": "Portland", "postal_code": "97201",
           "country": "US"}  # fmt: skip
CALLS: list[api.Call[Any]] = [
    api.sign_in("a@example.com", "pw"), api.me(), api.set_address(ADDRESS),
    api.search("cable", limit=5),
    api.product("p-1"), api.cart(), api.add_line("SKU-1", 2), api.set_quantity("SKU-1", 3),
    api.remove_line("SKU-1"), api.check_coupon("SAVE10", [("SKU-1", 1)]),
    api.quote_cart(ADDRESS, "SAVE10"),
    api.start_checkout(ADDRESS, "tok_visa", 2477, idempotency_key="k"),
    api.checkout("c-1"), api.timeline("c-1"), api.orders(5), api.order("o-1"),
    api.refunds("o-1"), api.refund("o-1", "broken", amount_cents=100, idempotency_key="k"),
    api.notifications(), api.send_message(None, "hello"), api.confirm("c-1", True, 100),
    api.conversations(), api.conversation("c-1"),
]  # fmt: skip


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    app = FastAPI()
    app.include_router(routes.router)
    app.include_router(acp.router)
    app.include_router(acp.delegation)
    app.include_router(assistant.router)
    acp_openapi.install(app)
    return app.openapi()


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    code = next(c for c in operation["responses"] if c.startswith("2"))
    return code, operation["responses"][code]


def test_every_route_declares_its_answer(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    for path, operations in document["paths"].items():
        if not path.startswith(("/v1", "/checkout_sessions", "/agentic_commerce")):
            continue
        for method, operation in operations.items():
            code, answer = _success(operation)
            content = answer["content"]
            if path.endswith("/stream"):
                assert "text/event-stream" in content
                continue
            ref = content["application/json"]["schema"].get("$ref", "")
            name = ref.removeprefix("#/components/schemas/")
            assert name in schemas, f"{method.upper()} {path} answers {code} without a model"
            if path.startswith("/v1"):
                assert name.endswith("Public"), name
                errors = {c: r for c, r in operation["responses"].items() if c >= "400"}
                assert {"401", "404", "422", "429", "503"} <= errors.keys(), path
            else:
                assert name.startswith("Acp"), name
                headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
                assert "API-Version" in headers, path


def test_request_bodies_are_one_family(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for operation in operations.values():
            body = operation.get("requestBody")
            if body is None or not path.startswith("/v1"):
                continue
            ref = body["content"]["application/json"]["schema"]["$ref"]
            assert ref.endswith(("Create", "Update")), (path, ref)


def test_the_client_asks_what_the_document_offers(document: dict[str, Any]) -> None:
    routes_ = {
        (method.upper(), re.compile("^" + re.sub(r"\{[^}]+\}", "[^/]+", path) + "$")): op
        for path, operations in document["paths"].items()
        for method, op in operations.items()
    }
    for call in CALLS:
        found = [op for (m, p), op in routes_.items() if m == call.method and p.match(call.path)]
        assert found, f"no route for {call.method} {call.path}"
        _, answer = _success(found[0])
        ref = answer["content"]["application/json"]["schema"]["$ref"]
        assert ref == f"#/components/schemas/{call.answer.__name__}", (call.name, ref)
        body = found[0].get("requestBody")
        assert (call.json is not None) == (body is not None), call.name


def test_a_refusal_reads_as_the_api_wrote_it() -> None:
    body = b'{"error": {"type": "invalid_request", "code": "cart_empty", "message": "The cart is empty.", "param": null}}'
    error = api.error_of(422, body, {"retry-after": "3"})
    assert (error.status, error.code, error.message, error.retry_after) == (
        422, "cart_empty", "The cart is empty.", "3",
    )  # fmt: skip
    away = api.error_of(502, b"<html>Bad gateway</html>", {})
    assert (away.status, away.code, away.message) == (502, "", "")


def test_paths_escape_what_the_person_typed() -> None:
    assert api.product("a/b?c").path == "/v1/products/a%2Fb%3Fc"
    assert api.remove_line("..").path == "/v1/cart/lines/%2E%2E"


def test_the_conversation_states_are_the_assistants() -> None:
    assert get_args(TurnState) == get_args(AssistantTurnState)
