"""checkout-orchestrator's storage: sagas and their timeline, in the caller's transaction."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.checkout.domain import FINISHED, Decision, Saga, State
from commerce.checkout.tables import saga_events, sagas
from commerce.contracts.base import Envelope, Message
from commerce.contracts.checkout import InitiateCheckoutCommand
from commerce.contracts.values import Totals
from commerce.platform.db import execute
from commerce.platform.outbox import Outbox
from commerce.platform.runtime import Runtime
from commerce.platform.settings import CheckoutSettings


def deadline_of(state: State, settings: CheckoutSettings) -> datetime | None:
    if state in FINISHED:
        return None
    return datetime.now(UTC) + timedelta(seconds=settings.step_timeout_seconds)


def load_saga(row: Any) -> Saga:
    return Saga(
        command=InitiateCheckoutCommand.model_validate(row["command"]),
        totals=Totals.model_validate(row["totals"]),
        state=State(row["state"]),
        payment_id=row["payment_id"],
        order_id=row["order_id"],
        code=row["code"],
        reason=row["reason"],
        pending=frozenset(row["pending"] or ()),
    )


def event(
    checkout_id: uuid.UUID, direction: str, message: Message, state: State,
    message_id: uuid.UUID | None = None,
) -> dict[str, Any]:  # fmt: skip
    return {
        "checkout_id": checkout_id, "direction": direction, "type": message.TYPE,
        "message_id": message_id, "state": state, "payload": message.model_dump(mode="json"),
    }  # fmt: skip


def _record_sql(first: int) -> str:
    """Append events to the timeline in their order: six arrays from parameter `first` on
    (one text for any number of events, so prepared once per connection)."""
    c, d, t, m, s, p = (f"${first + i}" for i in range(6))
    return (
        f"INSERT INTO {saga_events.name} (checkout_id, direction, type, message_id, state, payload)"
        f" SELECT c, d, t, m, s, p FROM unnest({c}::uuid[], {d}::text[], {t}::text[], {m}::uuid[],"
        f" {s}::text[], {p}::jsonb[]) WITH ORDINALITY AS e(c, d, t, m, s, p, n) ORDER BY n"
    )


def _record_args(events: Sequence[dict[str, Any]]) -> list[list[Any]]:
    return [
        *([e[k] for e in events] for k in ("checkout_id", "direction", "type", "message_id")),
        [str(e["state"]) for e in events],
        [json.dumps(e["payload"]) for e in events],
    ]


_RECORD = _record_sql(1)


async def record(session: AsyncSession, *events: dict[str, Any]) -> None:
    """Append to the saga's timeline, in this order, in one statement."""
    if events:
        await execute(session, _RECORD, *_record_args(events))


def _sent(
    saga: Saga, messages: Sequence[Message], envelopes: Sequence[Envelope]
) -> list[dict[str, Any]]:
    """The timeline's events for `messages`, queued as `envelopes`."""
    return [
        event(saga.checkout_id, "out", m, saga.state, e.message_id)
        for m, e in zip(messages, envelopes, strict=True)
    ]


async def send(
    session: AsyncSession,
    outbox: Outbox,
    saga: Saga,
    messages: list[Message],
    cause: uuid.UUID | None,
    *recorded_first: dict[str, Any],
) -> None:
    """Queue `messages` in the outbox and record them (after `recorded_first`) in the timeline."""
    envelopes = await outbox.add_all(
        session, messages, correlation_id=str(saga.checkout_id), causation_id=cause
    )
    await record(session, *recorded_first, *_sent(saga, messages, envelopes))


async def advance(
    session: AsyncSession,
    outbox: Outbox,
    before: Saga,
    decision: Decision,
    cause: uuid.UUID,
    received: dict[str, Any],
    *,
    reset_attempts: bool,
    settings: CheckoutSettings,
) -> None:
    """What a message decided: queue the messages to send, save the saga and record in
    its timeline the message received and those sent. Two statements: the outbox's insert,
    and the saga's update with the timeline's insert."""
    after = decision.saga
    envelopes = await outbox.add_all(
        session, decision.send, correlation_id=str(after.checkout_id), causation_id=cause
    )
    await save(
        session, before, decision, reset_attempts=reset_attempts, settings=settings,
        recorded=[received, *_sent(after, decision.send, envelopes)],
    )  # fmt: skip


async def save(
    session: AsyncSession,
    before: Saga,
    decision: Decision,
    *,
    reset_attempts: bool,
    settings: CheckoutSettings,
    recorded: Sequence[dict[str, Any]] = (),
) -> None:
    """Write the decided saga; with `recorded`, append those events to its timeline in
    the same statement."""
    after = decision.saga
    restart = reset_attempts or after.state != before.state
    args = [
        after.checkout_id, after.state.value, after.payment_id, after.order_id, after.code,
        after.reason, sorted(after.pending), after.totals.model_dump_json(),
        *((deadline_of(after.state, settings),) if restart else ()),
    ]  # fmt: skip
    if recorded:
        sql = _SAVE_RESTARTED_AND_RECORD if restart else _SAVE_AND_RECORD
        await execute(session, sql, *args, *_record_args(recorded))
    else:
        await execute(session, _SAVE_RESTARTED if restart else _SAVE, *args)


_SAVE = (
    f"UPDATE {sagas.name} SET state = $2, payment_id = $3, order_id = $4, code = $5,"
    " reason = $6, pending = $7, totals = $8, updated_at = now() WHERE checkout_id = $1"
)
# A new step (or its re-sends reset): its attempts count from 0 and its deadline is new.
_SAVE_RESTARTED = _SAVE.replace(" WHERE", ", attempts = 0, deadline_at = $9 WHERE")
# the saga's update and its timeline's insert in one statement (an UPDATE in WITH runs once)
_SAVE_AND_RECORD = f"WITH saved AS ({_SAVE}) {_record_sql(9)}"
_SAVE_RESTARTED_AND_RECORD = f"WITH saved AS ({_SAVE_RESTARTED}) {_record_sql(10)}"


async def postpone(
    session: AsyncSession, saga: Saga, settings: CheckoutSettings, seconds: float | None = None
) -> None:
    """Look at the step again after another period (or `seconds`), its re-sends untouched."""
    deadline = (
        deadline_of(saga.state, settings)
        if seconds is None
        else datetime.now(UTC) + timedelta(seconds=seconds)
    )
    await session.execute(
        update(sagas).where(sagas.c.checkout_id == saga.checkout_id).values(deadline_at=deadline)
    )


async def unsent(
    runtime: Runtime, session: AsyncSession, checkout_ids: list[uuid.UUID]
) -> set[str]:
    """The checkouts among `checkout_ids` with a message still waiting in our outbox."""
    if not checkout_ids:
        return set()
    outbox = runtime.tables.outbox
    correlation = outbox.c.headers["correlation_id"].astext
    found = await session.scalars(
        select(correlation)
        .where(outbox.c.sent_at.is_(None), correlation.in_([str(c) for c in checkout_ids]))
        .distinct()
    )
    return {c for c in found if c}
