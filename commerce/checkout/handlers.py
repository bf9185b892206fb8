"""checkout-orchestrator's handlers and the step-deadline sweeper."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce import pricing
from commerce.checkout import domain, store, waiting
from commerce.checkout.domain import FINISHED, Decision, Saga, State, Timeout
from commerce.checkout.tables import saga_events, sagas
from commerce.contracts.base import Message
from commerce.contracts.checkout import (
    CompensateInventory,
    CompensatePayment,
    CreateOrder,
    InitiateCheckoutCommand,
    ProcessPayment,
    ReserveInventory,
)
from commerce.platform.consumer import MessageContext
from commerce.platform.db import execute, locked_row
from commerce.platform.delivery import InboxAnswer, ask_inbox
from commerce.platform.runtime import Runtime

log = structlog.get_logger(__name__)


# How many sagas waiting in PRICING one sweep re-prices at once (outside its transaction).
PRICING_CONCURRENCY = 8


async def reprice(runtime: Runtime, command: InitiateCheckoutCommand) -> Decision | None:
    """Quote again through discount-engine and tax-calculation; None while they cannot answer."""
    try:
        fresh = await pricing.quote(
            runtime.http,
            runtime.settings,
            user_id=command.user_id,
            lines=command.lines,
            shipping_address=command.shipping_address,
            coupon_code=command.coupon_code,
            currency=command.quote.currency,
        )
    except pricing.PricingUnavailable as exc:
        log.warning("checkout.pricing_unavailable", error=str(exc))
        return None
    except pricing.PricingError as exc:
        return domain.reject(command, "invalid_request", f"{exc} Nothing was held or charged.")
    return domain.priced(command, fresh.totals)


@dataclass(frozen=True)
class Pricing:
    """What re-pricing a new checkout said, asked before the consumer's transaction opened.

    `decision` is None when discount-engine or tax-calculation could not answer (the
    sweeper prices again within the step's budget); `asked` is False when no price was
    asked: the quote does not add up, the checkout is already known (a redelivery), or
    its publisher priced it moments ago (`decision` then starts it at that price).
    """

    decision: Decision | None
    asked: bool = True


def priced_moments_ago(command: InitiateCheckoutCommand, fresh_seconds: float) -> bool:
    """The publisher priced the command with discount-engine and tax-calculation within
    `fresh_seconds` (either way: clocks of two hosts may differ by a little), so pricing
    it again would ask the same questions a moment later (docs/adr/0041)."""
    if command.priced_at is None:
        return False
    return abs((datetime.now(UTC) - command.priced_at).total_seconds()) <= fresh_seconds


async def price_first(message: InitiateCheckoutCommand, runtime: Runtime) -> Pricing:
    """`prepare` of `initiate`: re-price before any transaction (docs/adr/0032), unless
    the publisher priced it moments ago (docs/adr/0041)."""
    if domain.verify_quote(message):
        return Pricing(None, asked=False)
    if priced_moments_ago(message, runtime.settings.checkout.quote_fresh_seconds):
        return Pricing(domain.start(message, message.quote), asked=False)
    async with runtime.db.reads() as session:  # a redelivery is not priced again
        known = await session.scalar(
            select(sagas.c.checkout_id).where(sagas.c.checkout_id == message.checkout_id)
        )
    if known is not None:
        return Pricing(None, asked=False)
    return Pricing(await reprice(runtime, message))


_NEW_SAGA = (
    f"INSERT INTO {sagas.name} (checkout_id, user_id, state, command, totals, deadline_at)"
    " VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING"
)


async def initiate(message: InitiateCheckoutCommand, ctx: MessageContext) -> None:
    """Create the saga and apply the price `price_first` found (no network call here)."""
    session = ctx.session
    created = await execute(
        session, _NEW_SAGA, message.checkout_id, message.user_id, State.PRICING.value,
        message.model_dump_json(), message.quote.model_dump_json(),
        store.deadline_of(State.PRICING, ctx.runtime.settings.checkout),
    )  # fmt: skip
    if not created:  # the same checkout initiated twice: one saga
        log.info("checkout.duplicate_initiate", checkout_id=str(message.checkout_id))
        return
    received = store.event(
        message.checkout_id, "in", message, State.PRICING, ctx.envelope.message_id
    )
    waiting.notify_after_commit(ctx, message.checkout_id)  # it exists now: wake its waiters
    problem = domain.verify_quote(message)
    pricing_answer = ctx.prepared if isinstance(ctx.prepared, Pricing) else Pricing(None, False)
    if problem:
        decision: Decision | None = domain.reject(message, "price_changed", problem)
    else:
        # None: pricing is away (or was not asked): the saga waits in PRICING and the
        # sweeper prices it within the step budget
        decision = pricing_answer.decision
    if decision is None:
        await store.record(session, received)
        return
    pricing_saga = Saga(command=message, totals=message.quote, state=State.PRICING)
    await store.advance(
        session, ctx.outbox, pricing_saga, decision, ctx.envelope.message_id, received,
        reset_attempts=True, settings=ctx.runtime.settings.checkout,
    )  # fmt: skip
    log.info("checkout.started", state=decision.saga.state.value)


async def on_event(message: Message, ctx: MessageContext) -> None:
    """Any saga event: load the saga (locked), decide, save, send."""
    checkout_id = getattr(message, "checkout_id", None)
    if not isinstance(checkout_id, uuid.UUID):
        return
    session = ctx.session
    row = await locked_row(session, sagas.c.checkout_id, checkout_id)
    if row is None:
        log.warning("checkout.event_without_saga", type=message.TYPE, checkout_id=str(checkout_id))
        return
    saga = store.load_saga(row)
    decision = domain.decide(saga, message)
    received = store.event(checkout_id, "in", message, decision.saga.state, ctx.envelope.message_id)
    # its timeline grows (and maybe its state)
    waiting.notify_after_commit(ctx, checkout_id, decision.saga.state.value)
    if decision.saga == saga and not decision.send:
        await store.record(session, received)
        return
    await store.advance(
        session, ctx.outbox, saga, decision, ctx.envelope.message_id, received,
        reset_attempts=decision.saga.state != saga.state, settings=ctx.runtime.settings.checkout,
    )  # fmt: skip
    if decision.saga.state != saga.state:
        log.info("checkout.step", state=decision.saga.state.value, code=decision.saga.code)


# The service whose consumer handles each step's command.
STEP_TARGET = {
    ReserveInventory.TYPE: "inventory", ProcessPayment.TYPE: "payment-gateway",
    CreateOrder.TYPE: "order", CompensatePayment.TYPE: "payment-gateway",
    CompensateInventory.TYPE: "inventory",
}  # fmt: skip


@dataclass
class _Step:
    """What the timeline says of a saga's current step."""

    started: datetime  # its first command
    sends: int  # commands sent for it so far
    latest: dict[str, uuid.UUID]  # command type -> the latest one's message id


async def _steps(session: AsyncSession, rows: list[Any]) -> dict[uuid.UUID, _Step]:
    """The current step of each saga in `rows` (sagas in pricing have none)."""
    wanted = {r["checkout_id"]: r["state"] for r in rows if r["state"] != State.PRICING}
    if not wanted:
        return {}
    e = saga_events
    found = await session.execute(
        select(e.c.checkout_id, e.c.type, e.c.message_id, e.c.state, e.c.at)
        .where(
            e.c.checkout_id.in_(list(wanted)),
            e.c.direction == "out",
            e.c.type.in_(list(STEP_TARGET)),
        )
        .order_by(e.c.id)
    )
    steps: dict[uuid.UUID, _Step] = {}
    for checkout_id, type_name, message_id, state, at in found:
        if state != wanted[checkout_id] or message_id is None:
            continue
        step = steps.setdefault(checkout_id, _Step(at, 0, {}))
        step.sends += 1
        step.latest[type_name] = message_id
    return steps


async def _ask_targets(
    runtime: Runtime, steps: dict[uuid.UUID, _Step]
) -> dict[str, InboxAnswer | None]:
    """Each step service's answer: which of the latest commands it handled, its backlog."""
    ids: dict[str, list[uuid.UUID]] = {}
    for step in steps.values():
        for type_name, message_id in step.latest.items():
            ids.setdefault(STEP_TARGET[type_name], []).append(message_id)
    return {service: await ask_inbox(runtime, service, wanted) for service, wanted in ids.items()}


def _waiting_reason(step: _Step | None, answers: Mapping[str, InboxAnswer | None]) -> str | None:
    """Why a step past its deadline should wait rather than re-send; None: it should not.

    - "answered": every latest command was handled; the answer is on its way (the
      service's outbox delivers it, docs/adr/0020);
    - "queued": the service is up and has records it has not handled yet: the command is
      queued behind them (a re-send would only queue behind it too and add work).
    A service that cannot answer, or is idle without having handled the command (it was
    lost), gets a re-send.
    """
    if step is None or not step.latest:
        return None
    queued = False
    for type_name, message_id in step.latest.items():
        answer = answers.get(STEP_TARGET[type_name])
        if answer is None:
            return None
        if message_id in answer.handled:
            continue
        if not answer.backlog:
            return None
        queued = True
    return "queued" if queued else "answered"


async def sweep_once(runtime: Runtime, limit: int | None = None) -> int:
    """Handle sagas past their step deadline (docs/adr/0020, "graceful under overload").

    A step whose command is still in our outbox, was handled (its answer is coming), or is
    queued at a service that is up and busy waits another period without a re-send. A
    command that was lost is sent again without using up the step's re-sends; re-sends
    count (and finally compensate) when the service cannot answer, or when the step has
    waited longer than `step_limit_seconds`. At most `max_resends_per_sweep` commands are
    sent per sweep, over at most `sweep_batch` sagas. Sagas waiting in PRICING are priced
    before the sweep's transaction, which applies a price only to a saga it finds still
    in PRICING and due (docs/adr/0032).
    """
    settings = runtime.settings.checkout
    handled = 0
    resent = 0
    changed: list[uuid.UUID] = []  # sagas whose state or timeline the sweep changed
    due = [
        sagas.c.deadline_at < func.now(),
        sagas.c.state.in_([s.value for s in State if s not in FINISHED]),
    ]
    # What is due and what its services say, read before the sweep's transaction: no
    # network call is made while it holds the sagas' locks.
    async with runtime.db.sessions() as session:
        seen = (
            (
                await session.execute(
                    select(sagas.c.checkout_id, sagas.c.state, sagas.c.attempts, sagas.c.command)
                    .where(*due)
                    .order_by(sagas.c.deadline_at)
                    .limit(limit or settings.sweep_batch)
                )
            )
            .mappings()
            .all()
        )
        if not seen:
            return 0
        unsent = await store.unsent(runtime, session, [row["checkout_id"] for row in seen])
        steps = await _steps(session, [r for r in seen if str(r["checkout_id"]) not in unsent])
    answers = await _ask_targets(runtime, steps)
    prices = await _price_due(runtime, seen)
    states = {row["checkout_id"]: row["state"] for row in seen}
    async with runtime.db.transaction() as session:
        rows = (
            (
                await session.execute(
                    select(sagas)
                    .where(sagas.c.checkout_id.in_(list(states)), *due)
                    .order_by(sagas.c.deadline_at)
                    .with_for_update(skip_locked=True)
                )
            )
            .mappings()
            .all()
        )
        rows = [row for row in rows if states[row["checkout_id"]] == row["state"]]
        now = datetime.now(UTC)
        for row in rows:
            saga = store.load_saga(row)
            if saga.state != State.PRICING and str(saga.checkout_id) in unsent:
                # Its last command is still in our outbox (the relay is behind): a re-send
                # would queue behind it and add work. Give the step another period, uncounted.
                await store.postpone(session, saga, settings)
                log.info("checkout.step_still_queued", checkout_id=str(saga.checkout_id))
                continue
            step = steps.get(saga.checkout_id)
            within_limit = step is not None and (
                (now - step.started).total_seconds() < settings.step_limit_seconds
            )
            reason = _waiting_reason(step, answers)
            if reason is not None and within_limit:
                await store.postpone(session, saga, settings)
                log.info("checkout.step_waiting", checkout_id=str(saga.checkout_id), reason=reason)
                continue
            if resent >= settings.max_resends_per_sweep:  # bounded: the rest wait a period
                await store.postpone(session, saga, settings, seconds=settings.sweep_seconds * 4)
                continue
            # every service of the step answered (up and idle, without the command): lost
            lost = (
                step is not None
                and within_limit
                and all(answers.get(STEP_TARGET[t]) is not None for t in step.latest)
            )
            attempts = int(row["attempts"]) + (0 if lost else 1)
            final = saga.state != State.COMPENSATING and attempts > settings.max_resends
            decision = domain.decide(saga, Timeout(final=final))
            if saga.state == State.PRICING and not final:  # priced before the transaction
                decision = prices.get(saga.checkout_id) or decision
            await store.save(session, saga, decision, reset_attempts=False, settings=settings)
            if decision.saga.state == saga.state:
                sends = step.sends if step is not None else 1
                backoff = settings.step_timeout_seconds * min(2 ** max(sends - 1, 0), 8)
                await session.execute(
                    update(sagas)
                    .where(sagas.c.checkout_id == saga.checkout_id)
                    .values(
                        attempts=attempts,
                        deadline_at=None if final else now + timedelta(seconds=backoff),
                    )
                )
            await store.send(session, runtime.outbox, decision.saga, decision.send, None)
            changed.append(saga.checkout_id)
            if decision.send:
                resent += 1
            for message in decision.send:
                runtime.metrics.resent.labels(type=message.TYPE).inc()
            log.warning(
                "checkout.step_timeout", checkout_id=str(saga.checkout_id), state=saga.state.value,
                attempt=attempts, compensating=final, lost=lost,
            )  # fmt: skip
            handled += 1
    waiting.notify(runtime, changed)  # committed: wake their waiters
    return handled


async def _price_due(runtime: Runtime, rows: Sequence[Any]) -> dict[uuid.UUID, Decision]:
    """Re-price the sagas among `rows` waiting in PRICING that have a re-send left, a few
    at a time, before the sweep's transaction; those pricing cannot answer are left out."""
    settings = runtime.settings.checkout
    waiting = [
        row
        for row in rows
        if row["state"] == State.PRICING and int(row["attempts"]) + 1 <= settings.max_resends
    ]
    if not waiting:
        return {}
    gate = asyncio.Semaphore(PRICING_CONCURRENCY)

    async def one(row: Any) -> Decision | None:
        async with gate:
            return await reprice(runtime, InitiateCheckoutCommand.model_validate(row["command"]))

    found = await asyncio.gather(*(one(row) for row in waiting))
    return {
        row["checkout_id"]: decision
        for row, decision in zip(waiting, found, strict=True)
        if decision is not None
    }


async def sweeper(runtime: Runtime) -> None:
    while True:
        await sweep_once(runtime)
        await asyncio.sleep(runtime.settings.checkout.sweep_seconds)
