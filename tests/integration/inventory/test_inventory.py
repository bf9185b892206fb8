"""inventory against the real broker and database."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from commerce.contracts.checkout import (
    CommitInventory,
    CompensateInventory,
    InventoryCommitted,
    InventoryReleased,
    InventoryReservationFailed,
    InventoryReserved,
    ReserveInventory,
)
from commerce.contracts.values import StockLine
from commerce.inventory.handlers import release_expired
from commerce.inventory.tables import reservations
from tests.conftest import ServiceStack
from tests.integration.helpers import eventually, send, wait_for_event

pytestmark = pytest.mark.integration


def sku() -> str:
    return f"T-{uuid.uuid4().hex[:10].upper()}"


async def stocked(stack: ServiceStack, on_hand: int) -> str:
    await stack.ensure("inventory")
    name = sku()
    async with stack.client("inventory") as http:
        response = await http.put(
            f"/stock/{name}", json={"on_hand": on_hand, "product_id": "p-test"}
        )
        assert response.status_code == 200, response.text
    return name


async def level(stack: ServiceStack, name: str) -> dict[str, Any]:
    async with stack.client("inventory") as http:
        body: dict[str, Any] = (await http.get(f"/stock/{name}")).json()
        return body


async def reservation(stack: ServiceStack, checkout_id: uuid.UUID) -> dict[str, Any] | None:
    async with stack.client("inventory") as http:
        response = await http.get(f"/reservations/{checkout_id}")
        return response.json() if response.status_code == 200 else None


async def test_reserve_commit_and_release_lifecycle(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    a, b = await stocked(stack, 10), await stocked(stack, 5)
    sold, released = uuid.uuid4(), uuid.uuid4()
    await send(
        producer,
        ReserveInventory(
            checkout_id=sold, lines=[StockLine(sku=a, quantity=3), StockLine(sku=b, quantity=2)]
        ),
    )
    await send(
        producer, ReserveInventory(checkout_id=released, lines=[StockLine(sku=a, quantity=1)])
    )
    await wait_for_event(infra, sold, InventoryReserved)
    await wait_for_event(infra, released, InventoryReserved)
    assert (await level(stack, a))["reserved"] == 4

    await send(producer, CommitInventory(checkout_id=sold))
    await wait_for_event(infra, sold, InventoryCommitted)
    assert await level(stack, a) == {
        "sku": a,
        "product_id": "p-test",
        "on_hand": 7,
        "reserved": 1,
        "available": 6,
    }
    assert (await level(stack, b))["on_hand"] == 3

    for _ in range(2):  # releasing twice releases once
        await send(producer, CompensateInventory(checkout_id=released, reason="payment declined"))
    events = await eventually(
        lambda: wait_for_event(infra, released, InventoryReleased),
        lambda evs: sum(isinstance(e, InventoryReleased) for e in evs) == 2,
    )
    assert sorted(e.released_units for e in events if isinstance(e, InventoryReleased)) == [0, 1]
    assert await level(stack, a) == {
        "sku": a,
        "product_id": "p-test",
        "on_hand": 7,
        "reserved": 0,
        "available": 7,
    }


async def test_all_or_nothing_with_a_reason_naming_the_item(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    plenty, scarce = await stocked(stack, 50), await stocked(stack, 1)
    checkout = uuid.uuid4()
    await send(
        producer,
        ReserveInventory(
            checkout_id=checkout,
            lines=[StockLine(sku=plenty, quantity=2), StockLine(sku=scarce, quantity=3)],
        ),
    )
    events = await wait_for_event(infra, checkout, InventoryReservationFailed)
    failed = next(e for e in events if isinstance(e, InventoryReservationFailed))
    assert failed.shortages[0].sku == scarce and failed.shortages[0].available == 1
    assert f"Only 1 left of {scarce}" in failed.reason
    assert (await level(stack, plenty))["reserved"] == 0
    unknown = uuid.uuid4()
    await send(
        producer,
        ReserveInventory(checkout_id=unknown, lines=[StockLine(sku="NO-SUCH-SKU", quantity=1)]),
    )
    events = await wait_for_event(infra, unknown, InventoryReservationFailed)
    assert "out of stock" in events[-1].reason  # type: ignore[attr-defined]


async def test_the_last_units_go_to_exactly_k_of_200_concurrent_checkouts(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    k = 7
    contested = await stocked(stack, k)
    checkouts = [uuid.uuid4() for _ in range(200)]
    await asyncio.gather(
        *(
            send(
                producer,
                ReserveInventory(checkout_id=c, lines=[StockLine(sku=contested, quantity=1)]),
            )
            for c in checkouts
        )
    )

    async def outcomes() -> list[str | None]:
        async with stack.runtime("inventory").db.sessions() as session:
            rows = await session.execute(
                select(reservations.c.checkout_id, reservations.c.status).where(
                    reservations.c.checkout_id.in_(checkouts)
                )
            )
            found = {row[0]: str(row[1]) for row in rows}
        return [found.get(c) for c in checkouts]

    final = await eventually(outcomes, lambda s: None not in s, within=60)
    assert final.count("held") == k
    assert final.count("failed") == 200 - k
    assert await level(stack, contested) == {
        "sku": contested,
        "product_id": "p-test",
        "on_hand": k,
        "reserved": k,
        "available": 0,
    }


async def test_a_late_reservation_after_compensation_holds_nothing(
    stack: ServiceStack, infra: Any, producer: Any
) -> None:
    item = await stocked(stack, 5)
    checkout = uuid.uuid4()
    await send(producer, CompensateInventory(checkout_id=checkout, reason="timed out"))
    await wait_for_event(infra, checkout, InventoryReleased)
    await send(
        producer, ReserveInventory(checkout_id=checkout, lines=[StockLine(sku=item, quantity=1)])
    )
    events = await wait_for_event(infra, checkout, InventoryReservationFailed)
    assert "cancelled" in events[-1].reason  # type: ignore[attr-defined]
    assert (await level(stack, item))["reserved"] == 0


async def test_expired_holds_are_released(stack: ServiceStack, infra: Any, producer: Any) -> None:
    item = await stocked(stack, 5)
    checkout = uuid.uuid4()
    await send(
        producer,
        ReserveInventory(
            checkout_id=checkout, hold_seconds=1, lines=[StockLine(sku=item, quantity=2)]
        ),
    )
    await wait_for_event(infra, checkout, InventoryReserved)
    runtime = stack.runtime("inventory")

    async def release_when_expired() -> Any:  # the hold runs out after a second
        async with runtime.db.transaction() as session:
            await release_expired(session)
        return await reservation(stack, checkout)

    await eventually(release_when_expired, lambda held: held["status"] == "expired")
    assert (await level(stack, item))["reserved"] == 0
    # a commit that arrives after expiry re-takes the stock if it is still there
    await send(producer, CommitInventory(checkout_id=checkout))
    await wait_for_event(infra, checkout, InventoryCommitted)
    assert (await level(stack, item))["on_hand"] == 3


async def test_rest_validation(stack: ServiceStack) -> None:
    item = await stocked(stack, 5)
    async with stack.client("inventory") as http:
        assert (await http.get("/stock/NOPE-404")).status_code == 404
        assert (await http.put(f"/stock/{item}", json={"on_hand": -1})).status_code == 422
        assert (
            await http.put(f"/stock/{item}", json={"on_hand": 1, "extra": True})
        ).status_code == 422
        assert (await http.put("/stock/NEW-SKU-X", json={"on_hand": 1})).status_code == 422
        listed = (await http.get("/stock", params={"sku": [item, "NOPE"]})).json()
        assert [i["sku"] for i in listed["items"]] == [item]
        assert (await http.get(f"/reservations/{uuid.uuid4()}")).status_code == 404
