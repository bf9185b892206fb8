"""Idempotency-Key for POSTs that create or pay (the Agentic Commerce Protocol's rules).

Same key and same body: the first response again. Same key, different body: 422.
The first request still running: 409 with Retry-After. Keys are kept per user for at
least 24 hours.

A key in flight is a lease (docs/adr/0021): the first request holds it for
GATEWAY_BFF_IDEMPOTENCY_LEASE_SECONDS (30). A holder that crashed never finishes it; after
the lease a retry takes the key over and runs the request again. Only the current holder
can finish the key, and a route that creates something (a checkout) finishes it in the
same transaction that creates it (`leased`, `Lease.complete`): so the resource and the
key's answer are written together or not at all, and a retry either finds the answer
(with the resource's id) or creates the resource itself, once.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bff.errors import ApiError
from bff.tables import idempotency_keys
from commerce.platform.db import execute
from commerce.platform.service import ServiceRuntime

t = idempotency_keys


@dataclass
class Lease:
    """The key a request holds (`key` None: the request came without one)."""

    user_id: str
    key: str | None
    holder: uuid.UUID
    completed: bool = False

    async def complete(self, session: AsyncSession, status: int, payload: Any) -> None:
        """Record the answer in `session`'s transaction. Raises 409 (rolling the caller's
        transaction back) when the lease was taken over by a retry meanwhile."""
        if self.key is None:
            return
        if not await self.finish(session, status, jsonable_encoder(payload)):
            raise _in_flight(None)
        self.completed = True

    async def finish(self, session: AsyncSession, status: int, encoded: Any) -> bool:
        """Record the answer (already JSON-encodable) if this lease still holds the key."""
        done = await execute(
            session, _FINISH, self.user_id, self.key, self.holder, status, json.dumps(encoded)
        )
        return done > 0


_CLAIM = (
    f"INSERT INTO {t.name} (user_id, key, route, request_hash, lease_until, holder)"
    " VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5), $6) ON CONFLICT DO NOTHING"
)
_FINISH = (
    f"UPDATE {t.name} SET status_code = $4, response = $5, lease_until = NULL"
    " WHERE user_id = $1 AND key = $2 AND holder = $3 AND status_code IS NULL"
)


def _in_flight(retry_after: float | None) -> ApiError:
    return ApiError(
        409,
        "request_in_flight",
        "A request with this Idempotency-Key is still being processed.",
        param="Idempotency-Key",
        headers={"Retry-After": str(max(math.ceil(retry_after or 1), 1))},
    )


async def idempotent(
    runtime: ServiceRuntime,
    user_id: str,
    key: str | None,
    route: str,
    body: Any,
    run: Callable[[], Awaitable[tuple[int, Any]]] | None = None,
    *,
    leased: Callable[[Lease], Awaitable[tuple[int, Any]]] | None = None,
) -> JSONResponse:
    """Answer with `run()` once per key; `leased(lease)` when the route records its answer
    in its own transaction through `lease.complete`."""

    async def go(lease: Lease) -> tuple[int, Any]:
        if leased is not None:
            return await leased(lease)
        assert run is not None
        return await run()

    if key is None:
        status, payload = await go(Lease(user_id, None, uuid.uuid4()))
        return JSONResponse(jsonable_encoder(payload), status_code=status)
    if not 1 <= len(key) <= 255:
        raise ApiError(
            422,
            "invalid_idempotency_key",
            "Idempotency-Key must be 1 to 255 characters.",
            param="Idempotency-Key",
        )
    digest = hashlib.sha256(json.dumps(jsonable_encoder(body), sort_keys=True).encode()).hexdigest()
    lease_seconds = runtime.settings.bff.idempotency.idempotency_lease_seconds
    lease = Lease(user_id, key, uuid.uuid4())
    until = func.now() + timedelta(seconds=lease_seconds)
    mine = and_(t.c.user_id == user_id, t.c.key == key)
    expiry = func.coalesce(t.c.lease_until, t.c.created_at + timedelta(seconds=lease_seconds))
    async with runtime.db.reads() as session:  # the usual case: one statement, its own commit
        claimed = await execute(
            session, _CLAIM, user_id, key, route, digest, float(lease_seconds), lease.holder
        )
    earlier = None
    if not claimed:
        async with runtime.db.transaction() as session:
            # In flight with a lease that ran out (its holder crashed): this request takes it over.
            taken_over = await session.scalar(
                update(t)
                .where(
                    mine,
                    t.c.status_code.is_(None),
                    t.c.request_hash == digest,
                    t.c.route == route,
                    expiry < func.now(),
                )
                .values(lease_until=until, holder=lease.holder)
                .returning(t.c.key)
            )
            if not taken_over:
                earlier = (
                    (
                        await session.execute(
                            select(
                                t,
                                func.extract("epoch", expiry - func.now()).label("lease_remaining"),
                            ).where(mine)
                        )
                    )
                    .mappings()
                    .one()
                )
    if earlier is not None:
        if not _same(earlier, digest, route):
            raise ApiError(
                422,
                "idempotency_key_reused",
                "This Idempotency-Key was used with a different request.",
                param="Idempotency-Key",
            )
        if earlier["status_code"] is None:
            raise _in_flight(float(earlier["lease_remaining"]))
        return JSONResponse(
            earlier["response"],
            status_code=earlier["status_code"],
            headers={"Idempotent-Replayed": "true"},
        )
    held = and_(mine, t.c.holder == lease.holder, t.c.status_code.is_(None))
    try:
        status, payload = await go(lease)
    except BaseException:
        async with runtime.db.transaction() as session:  # let the client retry with the same key
            await session.execute(delete(t).where(held))
        raise
    encoded = jsonable_encoder(payload)
    if not lease.completed:
        async with runtime.db.transaction() as session:
            await lease.finish(session, status, encoded)
    return JSONResponse(encoded, status_code=status)


def _same(row: Any, digest: str, route: str) -> bool:
    return bool(row["request_hash"] == digest and row["route"] == route)
