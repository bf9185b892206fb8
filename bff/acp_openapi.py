"""The Agentic Commerce Protocol's routes in the BFF's own OpenAPI document, stated with the
protocol's schemas (the vendored documents in `commerce.contracts.acp`).

The routes check each request against the protocol's schema and answer the protocol's
objects, so the BFF's document names the same schemas instead of restating them: each
schema of the protocol becomes a component prefixed `Acp` (checkout) or `AcpDelegate`
(delegated payment), and each route's `openapi_extra` (`operation(...)`) gives its request
body, its answer, its error answers and the API-Version header from them.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from commerce.contracts.acp import API_VERSION, CHECKOUT, DELEGATE_PAYMENT, spec

PREFIX = {CHECKOUT: "Acp", DELEGATE_PAYMENT: "AcpDelegate"}
ERRORS = ("400", "401", "404", "409", "422", "429", "503")
"""What a protocol route may answer besides its success (each the protocol's Error)."""


def ref(schema: str, document: str = CHECKOUT) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{PREFIX[document]}{schema}"}


@functools.cache
def components() -> dict[str, Any]:
    """The protocol's schemas under their prefixed names, their references rewritten."""
    found: dict[str, Any] = {}
    for document, prefix in PREFIX.items():
        text = json.dumps(spec(document)["components"]["schemas"])
        text = text.replace('"#/components/schemas/', f'"#/components/schemas/{prefix}')
        found |= {f"{prefix}{name}": schema for name, schema in json.loads(text).items()}
    return found


def operation(
    status: int,
    answer: str,
    *,
    body: str | None = None,
    body_required: bool = True,
    document: str = CHECKOUT,
    errors: tuple[str, ...] = ERRORS,
) -> dict[str, Any]:
    """A protocol route's `openapi_extra`: its body, its answer and errors, API-Version
    (and Idempotency-Key, which every POST must carry)."""
    error = {
        "description": "The protocol's Error",
        "content": {"application/json": {"schema": ref("Error", document)}},
    }
    extra: dict[str, Any] = {
        "parameters": [
            {
                "name": "API-Version",
                "in": "header",
                "required": True,
                "description": "The protocol version this server speaks",
                "schema": {"type": "string", "enum": [API_VERSION]},
            }
        ],
        "responses": {
            str(status): {
                "description": "Success",
                "content": {"application/json": {"schema": ref(answer, document)}},
            },
            **dict.fromkeys(errors, error),
        },
    }
    if body is not None:
        extra["parameters"].append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
        extra["requestBody"] = {
            "required": body_required,
            "content": {"application/json": {"schema": ref(body, document)}},
        }
    return extra


def install(app: Any) -> None:
    """Adds the protocol's schemas to the app's OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document: dict[str, Any] = generate()
            document.setdefault("components", {}).setdefault("schemas", {}).update(components())
        schema: dict[str, Any] = app.openapi_schema
        return schema

    app.openapi = openapi
