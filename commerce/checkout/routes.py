"""checkout-orchestrator's HTTP API: a saga's state and its timeline."""

from __future__ import annotations

import time
import uuid
from collections.abc import Hashable, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from commerce.checkout import waiting
from commerce.checkout.domain import FINISHED, State
from commerce.checkout.tables import saga_events, sagas
from commerce.checkout.waiting import MAX_WAIT_SECONDS, wait_until
from commerce.platform.db import as_dict, fetch
from commerce.platform.service import RuntimeDep

router = APIRouter(tags=["checkouts"])

_SAGA = f"SELECT * FROM {sagas.name} WHERE checkout_id = $1"


class CheckoutPublic(BaseModel):
    checkout_id: uuid.UUID
    user_id: str
    state: str
    code: str | None
    reason: str | None
    totals: dict[str, Any]
    order_id: uuid.UUID | None
    payment_id: uuid.UUID | None
    pending_compensations: list[str]
    created_at: datetime
    updated_at: datetime


class TimelineEntry(BaseModel):
    direction: str
    type: str
    state: str
    message_id: uuid.UUID | None
    payload: dict[str, Any]
    at: datetime


class TimelinePublic(BaseModel):
    checkout_id: uuid.UUID
    events: list[TimelineEntry]


class CheckoutsPublic(BaseModel):
    items: list[CheckoutPublic]


def _public(row: Any) -> CheckoutPublic:
    return CheckoutPublic(
        checkout_id=row["checkout_id"], user_id=row["user_id"], state=row["state"], code=row["code"],
        reason=row["reason"], totals=row["totals"], order_id=row["order_id"], payment_id=row["payment_id"],
        pending_compensations=list(row["pending"] or []), created_at=row["created_at"], updated_at=row["updated_at"],
    )  # fmt: skip


Wait = Annotated[
    float,
    Query(
        ge=0,
        le=MAX_WAIT_SECONDS,
        allow_inf_nan=False,
        description="Seconds to wait for a change before answering (0: answer at once)",
    ),
]
FINISHED_STATES = frozenset(s.value for s in FINISHED)
Until = Annotated[
    Literal["change", "finished"],
    Query(description="With `wait`: answer on any change of state, or only once finished"),
]


@router.get("/checkouts/{checkout_id}", operation_id="checkouts-get", response_model=CheckoutPublic)
async def get_checkout(
    runtime: RuntimeDep,
    checkout_id: uuid.UUID,
    wait: Wait = 0,
    until: Until = "change",
    user_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
) -> CheckoutPublic:
    """The saga's state. With `wait`, a saga not finished is answered when its state
    changes (or it appears; with `until=finished` only once it is finished), or when
    `wait` seconds have passed; a finished one at once. A saga that does not exist is
    waited for `waiting.APPEAR_SECONDS` at most, then not found. With `user_id`, someone else's
    saga is not found (at once)."""

    async def read() -> Any:
        async with runtime.db.reads() as session:
            rows = await fetch(session, _SAGA, checkout_id)
            return as_dict(rows[0]) if rows else None

    appear_by = time.monotonic() + waiting.APPEAR_SECONDS

    def settled(row: Any) -> bool:
        if row is None:  # not picked up yet: wait a little for it to appear
            return time.monotonic() >= appear_by
        return row["state"] in FINISHED_STATES or (
            user_id is not None and row["user_id"] != user_id
        )

    def mark(row: Any) -> str | None:
        """What a change is: the state (`until=finished`: nothing but being settled)."""
        return None if row is None or until == "finished" else str(row["state"])

    def worth_reading(row: Any, states: Sequence[Hashable]) -> bool:
        """Told the states the saga moved to: only one that finishes it can end an
        `until=finished` wait (a saga not seen yet is read: it has appeared)."""
        return row is None or until != "finished" or any(s in FINISHED_STATES for s in states)

    row = await wait_until(
        runtime, checkout_id, read, settled=settled, mark=mark, seconds=wait,
        worth_reading=worth_reading,
    )  # fmt: skip
    if row is None or (user_id is not None and row["user_id"] != user_id):
        raise HTTPException(
            404, detail="checkout not found (it may not have reached the orchestrator yet)"
        )
    return _public(row)


@router.get(
    "/checkouts/{checkout_id}/events",
    operation_id="checkouts-timeline",
    response_model=TimelinePublic,
)
async def get_timeline(
    runtime: RuntimeDep,
    checkout_id: uuid.UUID,
    wait: Wait = 0,
    after: Annotated[int, Query(ge=0, le=100_000)] = 0,
) -> TimelinePublic:
    """Every command the saga sent and every event it received, in order. With `wait`,
    the answer waits until the timeline has more than `after` entries (or `wait` ends)."""

    async def read() -> TimelinePublic | None:
        async with runtime.db.reads() as session:
            exists = await session.scalar(
                select(sagas.c.checkout_id).where(sagas.c.checkout_id == checkout_id)
            )
            if exists is None:
                return None
            rows = await session.execute(
                select(saga_events)
                .where(saga_events.c.checkout_id == checkout_id)
                .order_by(saga_events.c.id)
            )
            return TimelinePublic(
                checkout_id=checkout_id,
                events=[
                    TimelineEntry(**{k: r[k] for k in TimelineEntry.model_fields})
                    for r in rows.mappings()
                ],
            )

    found = await wait_until(
        runtime, checkout_id, read,
        settled=lambda t: t is not None and len(t.events) > after,
        mark=lambda t: -1 if t is None else len(t.events), seconds=wait,
    )  # fmt: skip
    if found is None:
        raise HTTPException(404, detail="checkout not found")
    return found


@router.get("/checkouts", operation_id="checkouts-list", response_model=CheckoutsPublic)
async def list_checkouts(
    runtime: RuntimeDep,
    user_id: Annotated[str, Query(min_length=1, max_length=64)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> CheckoutsPublic:
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            select(sagas)
            .where(sagas.c.user_id == user_id)
            .order_by(sagas.c.created_at.desc())
            .limit(limit)
        )
        return CheckoutsPublic(items=[_public(r) for r in rows.mappings()])


class SagaBacklog(BaseModel):
    open: int  # sagas started and not finished
    queued: int | None  # records the orchestrator's consumer has not handled yet


@router.get("/saga-backlog", operation_id="saga-backlog", response_model=SagaBacklog)
async def saga_backlog(runtime: RuntimeDep) -> SagaBacklog:
    """How far behind the saga is: the BFF sheds new checkouts above a limit (docs/adr/0020)."""
    async with runtime.db.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(sagas)
            .where(sagas.c.state.in_([s.value for s in State if s not in FINISHED]))
        )
    queued = await runtime.consumer.backlog() if runtime.consumer is not None else None
    return SagaBacklog(open=int(count or 0), queued=queued)
