"""The Agentic Commerce Protocol's delegate_payment on payment-gateway: an agent turns a
card into a single-use token bounded by an allowance (most it may charge, currency,
expiry, merchant, checkout session); the shop redeems it for one checkout, and the saga's
ProcessPayment charges it.

The card number and its code are read once, here, to pick the simulated outcome and the
last four digits; they are never stored, logged or published.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

import structlog
from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from commerce.contracts.acp import DELEGATE_PAYMENT, first_problem
from commerce.payment.domain import Allowance, Use, card_outcome, luhn_valid, refusal
from commerce.payment.tables import delegated_tokens
from commerce.platform.db import locked_row
from commerce.platform.service import RuntimeDep, add_routes

log = structlog.get_logger(__name__)
router = APIRouter(tags=["delegated-payment"])
T = delegated_tokens
MAX_AMOUNT_CENTS = 10**12


def install(app: FastAPI) -> None:
    add_routes(app, router)


def _error(status: int, code: str, message: str, param: str | None = None) -> JSONResponse:
    """The delegate_payment document's Error object."""
    body: dict[str, Any] = {"type": "invalid_request", "code": code, "message": message}
    if param:
        body["param"] = param
    return JSONResponse(body, status_code=status)


def _created(row: Any) -> dict[str, Any]:
    metadata = {str(k): str(v) for k, v in (row["metadata"] or {}).items()}
    return {
        "id": row["token_id"],
        "created": row["created_at"].isoformat().replace("+00:00", "Z"),
        "metadata": {**metadata, "merchant_id": row["merchant_id"]},
    }


@router.post(
    "/agentic_commerce/delegate_payment", operation_id="delegate-payment", status_code=201,
    openapi_extra={"requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}},
)  # fmt: skip
async def delegate_payment(runtime: RuntimeDep, request: Request) -> JSONResponse:
    """Tokenize a card for one checkout session within an allowance (201 with `vt_…`)."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return _error(400, "idempotency_key_required", "Idempotency-Key header is required")
    if not 1 <= len(key) <= 255:
        return _error(
            400, "idempotency_key_required", "Idempotency-Key must be 1 to 255 characters."
        )
    try:
        body = json.loads(await request.body())
    except ValueError:
        return _error(400, "invalid_card", "The request body is not valid JSON.")
    try:
        text = json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return _error(400, "invalid_card", "The request body has an unpaired surrogate.")
    if b"\\u0000" in text:  # JSON's escape of NUL, which PostgreSQL cannot store
        return _error(400, "invalid_card", "The request body must not contain NUL characters.")
    problem = first_problem("DelegatePaymentRequest", body, DELEGATE_PAYMENT)
    if problem is not None:
        return _error(400, "invalid_card", problem[0], problem[1])
    card, allowance = body["payment_method"], body["allowance"]
    if not 0 <= allowance["max_amount"] <= MAX_AMOUNT_CENTS:
        return _error(
            422, "invalid_card", f"max_amount must be 0 to {MAX_AMOUNT_CENTS} minor units.",
            "$.allowance.max_amount",
        )  # fmt: skip
    number = str(card["number"]).replace(" ", "")
    if not luhn_valid(number):
        return _error(
            422, "invalid_card", "The card number is not valid.", "$.payment_method.number"
        )
    month, year = card.get("exp_month"), card.get("exp_year")
    if month is not None and not (month.isdigit() and 1 <= int(month) <= 12):
        return _error(
            422, "invalid_card", "Invalid card expiration month", "$.payment_method.exp_month"
        )
    if year is not None and not (year.isdigit() and len(year) == 4):
        return _error(
            422, "invalid_card", "Invalid card expiration year", "$.payment_method.exp_year"
        )
    # what tells one request from another for Idempotency-Key, without the number or code:
    # a hash of a card number could be reversed by trying every number
    masked = {**card, "number": number[-4:], "cvc": None, "cryptogram": None}
    digest = hashlib.sha256(
        json.dumps({**body, "payment_method": masked}, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    values = {
        "token_id": "vt_" + secrets.token_hex(12), "idempotency_key": key, "request_hash": digest,
        "brand": str(card.get("display_brand") or "card")[:32], "last4": number[-4:],
        "funding": card["display_card_funding_type"], "outcome": card_outcome(number),
        "max_amount_cents": allowance["max_amount"], "currency": allowance["currency"],
        "merchant_id": allowance["merchant_id"][:256],
        "checkout_session_id": allowance["checkout_session_id"][:256],
        "expires_at": datetime.fromisoformat(allowance["expires_at"].upper().replace("Z", "+00:00")),
        "metadata": body["metadata"],
    }  # fmt: skip
    del number, card, body  # nothing below needs the card
    async with runtime.db.transaction() as session:
        row = (
            (
                await session.execute(
                    insert(T).values(**values).on_conflict_do_nothing().returning(T)
                )
            )
            .mappings()
            .first()
        )
        replayed = row is None
        if row is None:
            row = (
                (await session.execute(select(T).where(T.c.idempotency_key == key)))
                .mappings()
                .one()
            )
    if replayed:
        if row["request_hash"] != digest:
            return _error(
                422, "idempotency_conflict",
                "Idempotency-Key has already been used with a different request body",
            )  # fmt: skip
        return JSONResponse(_created(row), status_code=201, headers={"Idempotent-Replayed": "true"})
    log.info("delegated payment token created", token_id=row["token_id"], last4=row["last4"])
    return JSONResponse(_created(row), status_code=201)


class Redeem(BaseModel):
    checkout_id: uuid.UUID
    checkout_session_id: str = Field(min_length=1, max_length=256)
    merchant_id: str = Field(min_length=1, max_length=256)
    amount_cents: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)


class Redeemed(BaseModel):
    token_id: str
    checkout_id: uuid.UUID
    last4: str
    brand: str


@router.post(
    "/delegated-tokens/{token_id}/redeem", operation_id="delegated-token-redeem",
    response_model=Redeemed,
)  # fmt: skip
async def redeem(runtime: RuntimeDep, token_id: str, body: Redeem) -> Redeemed:
    """Spend a token on one checkout (the shop calls this before it starts the saga):
    refused (422, the protocol's codes) when used, expired, or outside its allowance."""
    async with runtime.db.transaction() as session:
        row = await locked_row(session, T.c.token_id, token_id[:40])
        if row is None:
            raise HTTPException(
                404, detail={"code": "not_found", "message": "No such payment token."}
            )
        allowance = Allowance(
            int(row["max_amount_cents"]), str(row["currency"]), str(row["merchant_id"]),
            str(row["checkout_session_id"]), row["expires_at"],
        )  # fmt: skip
        use = Use(body.amount_cents, body.currency, body.merchant_id, body.checkout_session_id, datetime.now(UTC))  # fmt: skip
        refused = refusal(str(row["status"]), allowance, use)
        if refused is not None:
            log.info("delegated payment token refused", token_id=token_id, code=refused[0])
            raise HTTPException(422, detail={"code": refused[0], "message": refused[1]})
        await session.execute(
            update(T)
            .where(T.c.token_id == token_id)
            .values(status="redeemed", checkout_id=body.checkout_id, redeemed_at=func.now())
        )
    return Redeemed(
        token_id=token_id,
        checkout_id=body.checkout_id,
        last4=str(row["last4"]),
        brand=str(row["brand"]),
    )
