"""Idempotency keys in flight are leases: a crashed holder's key is free again after it.

See docs/adr/0021. The crash is the row a holder leaves when its process dies mid-request:
the key claimed, no answer recorded.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi.encoders import jsonable_encoder
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert

from bff.errors import ApiError
from bff.idempotency import Lease
from bff.tables import checkouts, idempotency_keys
from commerce.services import SERVICES
from shopapi.schemas import CheckoutCreate
from tests.conftest import ServiceStack
from tests.e2e.helpers import HOME, closing, signed_in

pytestmark = pytest.mark.integration

ROUTE = "POST /v1/checkouts"


def digest(body: Any) -> str:
    """The request's fingerprint as the route takes it (the parsed body, defaults included)."""
    parsed = CheckoutCreate.model_validate(body).model_dump(mode="json")
    return hashlib.sha256(json.dumps(jsonable_encoder(parsed), sort_keys=True).encode()).hexdigest()


async def checkout_count(stack: ServiceStack, user: str) -> int:
    async with stack.runtime("gateway-bff").db.sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(checkouts).where(checkouts.c.user_id == user)
            )
            or 0
        )


async def test_a_crashed_holders_key_is_taken_over_after_its_lease(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    bff = stack.runtime("gateway-bff")
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        await carla.post("/v1/cart/lines", json={"sku": "NB-A5-BLA", "quantity": 1})
        quote = (await carla.post("/v1/checkout/quote", json={"shipping_address": HOME})).json()
        body = {
            "shipping_address": HOME, "payment_token": "tok_visa",
            "expected_total_cents": quote["totals"]["total_cents"],
        }  # fmt: skip
        key = f"k-{uuid.uuid4()}"
        # the first try claims the key and gets its answer
        first = await carla.post("/v1/checkouts", json=body, headers={"Idempotency-Key": key})
        assert first.status_code == 202, first.text
        same = await carla.post("/v1/checkouts", json=body, headers={"Idempotency-Key": key})
        assert same.status_code == 202 and same.json() == first.json()
        assert same.headers["Idempotent-Replayed"] == "true"
        # another key whose holder crashed after claiming it: in flight, its lease not over
        crashed = f"k-{uuid.uuid4()}"
        async with bff.db.transaction() as session:
            await session.execute(
                insert(idempotency_keys).values(
                    user_id="user_789",
                    key=crashed,
                    route=ROUTE,
                    request_hash=digest(body),
                    holder=uuid.uuid4(),
                    lease_until=func.now() + timedelta(seconds=60),
                )
            )
        before = await checkout_count(stack, "user_789")
        busy = await carla.post("/v1/checkouts", json=body, headers={"Idempotency-Key": crashed})
        assert busy.status_code == 409 and busy.json()["error"]["code"] == "request_in_flight"
        assert 1 <= int(busy.headers["Retry-After"]) <= 60
        async with bff.db.transaction() as session:  # the lease runs out
            await session.execute(
                update(idempotency_keys)
                .where(idempotency_keys.c.key == crashed)
                .values(lease_until=func.now() - timedelta(seconds=1))
            )
        retried = await carla.post("/v1/checkouts", json=body, headers={"Idempotency-Key": crashed})
        assert retried.status_code == 202, retried.text
        again = await carla.post("/v1/checkouts", json=body, headers={"Idempotency-Key": crashed})
        assert again.json()["checkout_id"] == retried.json()["checkout_id"]
        assert await checkout_count(stack, "user_789") == before + 1  # created once


async def test_a_holder_whose_lease_was_taken_over_cannot_finish(stack: ServiceStack) -> None:
    await stack.ensure("gateway-bff")
    bff = stack.runtime("gateway-bff")
    key = f"k-{uuid.uuid4()}"
    slow, retry = Lease("user_123", key, uuid.uuid4()), Lease("user_123", key, uuid.uuid4())
    async with bff.db.transaction() as session:
        await session.execute(
            insert(idempotency_keys).values(
                user_id="user_123",
                key=key,
                route=ROUTE,
                request_hash="h",
                holder=retry.holder,
                lease_until=func.now() + timedelta(seconds=30),
            )
        )
    with pytest.raises(ApiError) as refused:
        async with bff.db.transaction() as session:
            await slow.complete(session, 202, {"checkout_id": "made-by-the-slow-one"})
    assert refused.value.code == "request_in_flight" and not slow.completed
    async with bff.db.transaction() as session:
        await retry.complete(session, 202, {"checkout_id": "made-once"})
    async with bff.db.sessions() as session:
        stored = await session.scalar(
            select(idempotency_keys.c.response).where(idempotency_keys.c.key == key)
        )
    assert stored == {"checkout_id": "made-once"}
