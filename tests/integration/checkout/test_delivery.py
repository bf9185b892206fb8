"""End to end, not broker-deep: a message the broker lost is found missing and sent again.

A loss is made the way a broker that restarted empty makes it for one consumer group: the
group's committed offsets jump past the message while its service is down, so the record
is never handled. (A real broker kill is in tests/integration/test_broker_restart.py and
the chaos suite; the session's broker is shared.) See docs/adr/0020.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from bff import delivery
from commerce.checkout import followup
from commerce.checkout.invariants import check_invariants
from commerce.checkout.tables import sagas
from commerce.contracts import Topic
from commerce.platform.settings import Settings
from tests.conftest import ServiceStack
from tests.integration.checkout.helpers import SAGA, finished, initiate, skip_to_end, stocked
from tests.integration.helpers import eventually, send

pytestmark = pytest.mark.integration

FOLLOW_UP = ("refund", "email-service", "sms-service")


async def outbox_drained(stack: ServiceStack, name: str) -> int:
    return int(await stack.runtime(name).relay.backlog())


async def test_confirmations_and_refund_records_lost_by_the_broker_are_sent_again(
    stack: ServiceStack, producer: Any, infra: Settings
) -> None:
    await stack.ensure(*SAGA, *FOLLOW_UP)
    follow_up = followup.LEDGER.of(stack.runtime("checkout-orchestrator"))
    follow_up.grace = 0.5  # check soon (30 s by default)
    for name in ("refund", "email-service"):
        await stack.stop(name)
    line = await stocked(stack, 5)
    command = await initiate(stack, [line])
    await producer.send_and_wait(
        Topic.INITIATE_CHECKOUT,
        command.envelope().to_bytes() if hasattr(command, "envelope") else b"",
        key=str(command.checkout_id).encode(),
    ) if False else await send(producer, command)
    saga = await finished(stack, command.checkout_id)
    assert saga["state"] == "completed"
    await eventually(lambda: outbox_drained(stack, "checkout-orchestrator"), lambda n: n == 0)
    # the broker "loses" CheckoutCompleted for refund and the e-mail for email-service
    await skip_to_end(infra, "agentshop.refund", Topic.CHECKOUT_EVENTS)
    await skip_to_end(infra, "agentshop.email-service", Topic.NOTIFICATIONS)

    report = await check_invariants(infra, [command.checkout_id], settle_seconds=0)
    assert report.lost_refund_records == 1 and report.lost_notifications == 1
    assert any("refund service does not know its order" in v for v in report.violations)
    assert any("never reached email-service" in v for v in report.violations)

    resent_before = follow_up.resent_total
    await stack.ensure("refund", "email-service")  # back: the follow-up finds both missing
    report = await eventually(
        lambda: check_invariants(infra, [command.checkout_id], settle_seconds=0),
        lambda r: r.ok,
        within=60,
    )
    assert report.completed == 1 and report.lost_notifications == report.lost_refund_records == 0
    assert follow_up.resent_total >= resent_before + 2


async def saga_count(stack: ServiceStack, checkout_id: uuid.UUID) -> int:
    async with stack.runtime("checkout-orchestrator").db.sessions() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(sagas).where(sagas.c.checkout_id == checkout_id)
            )
            or 0
        )


async def test_an_accepted_checkout_whose_command_was_lost_still_gets_its_saga(
    stack: ServiceStack, infra: Settings
) -> None:
    await stack.ensure(*SAGA, "gateway-bff")
    bff = stack.runtime("gateway-bff")
    intake = delivery.LEDGER.of(bff)
    intake.grace = 0.5
    await stack.stop("checkout-orchestrator")
    line = await stocked(stack, 5)
    command = await initiate(stack, [line])
    async with bff.db.transaction() as session:  # what POST /v1/checkouts writes
        await bff.outbox.add(session, command, correlation_id=str(command.checkout_id))
    await eventually(lambda: outbox_drained(stack, "gateway-bff"), lambda n: n == 0)
    await skip_to_end(infra, "agentshop.checkout-orchestrator", Topic.INITIATE_CHECKOUT)

    await stack.ensure("checkout-orchestrator")
    saga = await finished(stack, command.checkout_id, within=60)
    assert saga["state"] == "completed"
    assert await saga_count(stack, command.checkout_id) == 1
    assert intake.resent_total >= 1
