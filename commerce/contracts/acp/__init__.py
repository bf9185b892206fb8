"""The Agentic Commerce Protocol's OpenAPI documents (version 2026-04-17), vendored as
published with their LICENSE (Apache 2.0), and validators for their schemas.

The BFF checks checkout requests against `openapi.agentic_checkout.yaml`, payment-gateway
checks delegated payments against `openapi.delegate_payment.yaml`, and webhooks are sent
as `openapi.agentic_checkout_webhook.yaml` describes. Documents are read on first use.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import best_match

API_VERSION = "2026-04-17"
SPEC_DIR = Path(__file__).parent / API_VERSION
CHECKOUT = "openapi.agentic_checkout.yaml"
DELEGATE_PAYMENT = "openapi.delegate_payment.yaml"
WEBHOOK = "openapi.agentic_checkout_webhook.yaml"


@functools.cache
def spec(name: str = CHECKOUT) -> dict[str, Any]:
    """One of the protocol's OpenAPI documents, as vendored (read on first use)."""
    document: dict[str, Any] = yaml.safe_load((SPEC_DIR / name).read_text())
    if name == CHECKOUT:
        # Our one extension: a quantity per item (the 2026-04-17 Item has none; default 1).
        item = document["components"]["schemas"]["Item"]["properties"]
        item["quantity"] = {"type": "integer", "minimum": 1, "maximum": 1000}
    return document


RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
FORMATS = FormatChecker()


def rfc3339(value: object) -> bool:
    """An RFC 3339 date-time (with its offset); other types are for `type` to judge."""
    if not isinstance(value, str):
        return True
    if not RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    return True


URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`\x00-\x1f\x7f]+")


def uri(value: object) -> bool:
    """An absolute URI (RFC 3986: a scheme, a colon, then no spaces or reserved controls)."""
    return not isinstance(value, str) or URI.fullmatch(value) is not None


FORMATS.checks("date-time", raises=ValueError)(rfc3339)
FORMATS.checks("uri")(uri)


@functools.cache
def validator(schema: str, name: str = CHECKOUT) -> Draft202012Validator:
    return Draft202012Validator(
        {**spec(name), "$ref": f"#/components/schemas/{schema}"}, format_checker=FORMATS
    )


def first_problem(schema: str, body: Any, name: str = CHECKOUT) -> tuple[str, str] | None:
    """What the schema refuses first in `body`, as (message, JSONPath), or None."""
    problem = best_match(validator(schema, name).iter_errors(body))
    if problem is None:
        return None
    param = problem.json_path
    if problem.validator == "additionalProperties" and isinstance(problem.instance, dict):
        known = problem.schema.get("properties", {}) if isinstance(problem.schema, dict) else {}
        extra = next((k for k in problem.instance if k not in known), None)
        param = f"{param}.{extra}" if extra else param
    return problem.message[:500], param
