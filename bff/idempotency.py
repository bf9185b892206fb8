"""Idempotency-Key for POSTs that create or pay (the Agentic Commerce Protocol's rules).

Same key and same body: the first response again. Same key, different body: 422.
The first request still running: 409. Keys are kept per user for at least 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert

from bff.errors import ApiError
from bff.tables import idempotency_keys
from commerce.platform.service import ServiceRuntime


async def idempotent(
    runtime: ServiceRuntime,
    user_id: str,
    key: str | None,
    route: str,
    body: Any,
    run: Callable[[], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    if key is None:
        status, payload = await run()
        return JSONResponse(jsonable_encoder(payload), status_code=status)
    if not 1 <= len(key) <= 255:
        raise ApiError(
            422,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 characters.",
            param="Idempotency-Key",
        )
    digest = hashlib.sha256(json.dumps(jsonable_encoder(body), sort_keys=True).encode()).hexdigest()
    t = idempotency_keys
    async with runtime.db.transaction() as session:
        claimed = await session.scalar(
            insert(t)
            .values(user_id=user_id, key=key, route=route, request_hash=digest)
            .on_conflict_do_nothing()
            .returning(t.c.key)
        )
        earlier = (
            None
            if claimed
            else (await session.execute(select(t).where(t.c.user_id == user_id, t.c.key == key)))
            .mappings()
            .one()
        )
    if earlier is not None:
        if earlier["request_hash"] != digest or earlier["route"] != route:
            raise ApiError(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request.",
                param="Idempotency-Key",
            )
        if earlier["status_code"] is None:
            raise ApiError(
                409,
                "request_in_flight",
                "A request with this Idempotency-Key is still being processed.",
                param="Idempotency-Key",
            )
        return JSONResponse(
            earlier["response"],
            status_code=earlier["status_code"],
            headers={"Idempotent-Replayed": "true"},
        )
    try:
        status, payload = await run()
    except BaseException:
        async with runtime.db.transaction() as session:  # let the client retry with the same key
            await session.execute(delete(t).where(t.c.user_id == user_id, t.c.key == key))
        raise
    encoded = jsonable_encoder(payload)
    async with runtime.db.transaction() as session:
        await session.execute(
            update(t)
            .where(t.c.user_id == user_id, t.c.key == key)
            .values(status_code=status, response=encoded)
        )
    return JSONResponse(encoded, status_code=status)
