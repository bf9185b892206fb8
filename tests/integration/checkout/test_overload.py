"""Graceful under overload: re-sends only for commands lost, and the BFF sheds load.

See docs/adr/0020. The load run at twice the measured capacity is in the ADR and README
(`agentshop load checkout`); these tests pin the mechanisms.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, update

from bff.shedding import BACKLOG, saga_backlog
from commerce.checkout import handlers as saga_handlers
from commerce.checkout.tables import sagas
from commerce.contracts import Topic
from commerce.platform.delivery import InboxAnswer
from commerce.platform.settings import SheddingSettings
from commerce.services import SERVICES
from tests.conftest import ServiceStack
from tests.e2e.helpers import HOME, closing, signed_in
from tests.integration.checkout.helpers import (
    finished,
    get,
    initiate,
    ready,
    service_down,
    skip_to_end,
    stocked,
)
from tests.integration.helpers import eventually, send

pytestmark = pytest.mark.integration


async def test_a_lost_command_is_sent_again_without_using_up_the_steps_resends(
    stack: ServiceStack, producer: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    await ready(stack)
    # no deadline passes while inventory is down (a step whose service is down counts);
    # it is brought forward once inventory is back
    saga_settings = stack.runtime("checkout-orchestrator").settings.checkout
    monkeypatch.setattr(saga_settings, "step_timeout_seconds", 600.0)
    monkeypatch.setattr(saga_settings, "max_resends", 0)  # a counted one would fail it
    line = await stocked(stack, 2)
    command = await initiate(stack, [line])
    async with service_down(stack, "inventory"):
        await send(producer, command)
        await eventually(
            lambda: get(stack, "checkout-orchestrator", f"/checkouts/{command.checkout_id}"),
            lambda s: s is not None and s["state"] == "reserving",
        )
        await eventually(
            lambda: stack.runtime("checkout-orchestrator").relay.backlog(), lambda n: n == 0
        )
        # the broker loses ReserveInventory for inventory (as a restart without replay would)
        await skip_to_end(stack.settings, "agentshop.inventory", Topic.INVENTORY_COMMAND)
    await stack.runtime("inventory").wait_consuming()
    async with stack.runtime("checkout-orchestrator").db.transaction() as session:
        await session.execute(
            update(sagas)
            .where(sagas.c.checkout_id == command.checkout_id)
            .values(deadline_at=func.now())
        )
    saga = await finished(stack, command.checkout_id)
    assert saga["state"] == "completed", saga  # inventory is up and idle: the command was lost
    events = await get(stack, "checkout-orchestrator", f"/checkouts/{command.checkout_id}/events")
    reserves = [e for e in events["events"] if e["type"] == "ReserveInventory"]
    assert len(reserves) >= 2 and all(e["direction"] == "out" for e in reserves)


def test_a_step_waits_while_its_command_is_handled_or_queued() -> None:
    reserve = uuid.uuid4()
    step = saga_handlers._Step(datetime.now(UTC), 1, {"ReserveInventory": reserve})
    up = {"inventory": InboxAnswer({reserve}, 0)}
    assert saga_handlers._waiting_reason(step, up) == "answered"
    busy = {"inventory": InboxAnswer(set(), 40)}
    assert saga_handlers._waiting_reason(step, busy) == "queued"
    idle = {"inventory": InboxAnswer(set(), 0)}
    assert saga_handlers._waiting_reason(step, idle) is None  # lost: send again
    assert saga_handlers._waiting_reason(step, {"inventory": None}) is None  # down: counted


async def test_the_bff_sheds_checkouts_when_the_saga_is_behind(
    stack: ServiceStack, producer: Any
) -> None:
    await stack.ensure(*SERVICES)
    bff = stack.runtime("gateway-bff")
    bob = await signed_in(stack, "bob@example.com", "bob-demo-pass")
    async with closing(bob):
        await bob.post("/v1/cart/lines", json={"sku": "NB-A5-BLA", "quantity": 1})
        quote = (await bob.post("/v1/checkout/quote", json={"shipping_address": HOME})).json()
        body = {
            "shipping_address": HOME, "payment_token": "tok_visa",
            "expected_total_cents": quote["totals"]["total_cents"],
        }  # fmt: skip
        backlog = BACKLOG.of(bff)
        usual = backlog.settings
        backlog.settings = SheddingSettings(max_open_checkouts=1, backlog_check_seconds=0.05)
        backlog.read_at = float("-inf")
        key = f"shed-{uuid.uuid4()}"
        try:
            async with service_down(stack, "payment-gateway"):  # sagas wait at charging
                for _ in range(2):
                    await send(producer, await initiate(stack, [await stocked(stack, 5)]))
                await eventually(lambda: saga_backlog(bff), lambda n: n >= 2)
                shed = await bob.post("/v1/checkouts", json=body, headers={"Idempotency-Key": key})
                assert shed.status_code == 503, shed.text
                assert shed.json()["error"]["code"] == "overloaded"
                assert shed.headers["Retry-After"] == "2"
            # the backlog drains; the same key is free (nothing was created) and is accepted
            accepted = await eventually(
                lambda: bob.post("/v1/checkouts", json=body, headers={"Idempotency-Key": key}),
                lambda r: r.status_code != 503,
                within=60,
            )
            assert accepted.status_code == 202, accepted.text
        finally:
            backlog.settings = usual
