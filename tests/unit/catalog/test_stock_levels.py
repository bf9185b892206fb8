"""The catalog's stock levels as pure logic: a clock the test moves and an inventory that
is a dict (the real inventory behind it is tested in tests/integration/catalog)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import httpx

from commerce.catalog.stock import PER_CALL, StockLevels
from tests.unit.waiting import until


class Clock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


class Inventory:
    def __init__(self, levels: dict[str, int]) -> None:
        self.levels = levels
        self.calls: list[list[str]] = []
        self.down = False

    async def read(self, skus: Sequence[str]) -> dict[str, int]:
        self.calls.append(list(skus))
        await asyncio.sleep(0.001)
        if self.down:
            raise httpx.ConnectError("inventory away")
        return {s: self.levels[s] for s in skus if s in self.levels}


EVERY = [f"SKU-{n:04d}" for n in range(450)]


def every() -> list[str]:
    return EVERY


async def test_one_reading_of_every_sku_serves_pages_until_it_is_old() -> None:
    clock, inventory = Clock(), Inventory(dict.fromkeys(EVERY, 5))
    stock = StockLevels(1.0, inventory.read, timer=clock)
    assert await stock.of(["SKU-0001", "NOT-SOLD"], every) == {"SKU-0001": 5, "NOT-SOLD": 0}
    assert len(inventory.calls) == 3 and all(len(c) <= PER_CALL for c in inventory.calls)
    assert sorted(s for c in inventory.calls for s in c) == sorted([*EVERY, "NOT-SOLD"])
    inventory.levels["SKU-0002"] = 0
    clock.now += 0.5
    assert await stock.of(["SKU-0002"], every) == {"SKU-0002": 5}  # within the second
    assert len(inventory.calls) == 3
    clock.now += 0.5
    assert await stock.of(["SKU-0002"], every) == {"SKU-0002": 0}  # a second old: read again


async def test_a_reading_in_use_is_renewed_before_it_expires() -> None:
    clock, inventory = Clock(), Inventory(dict.fromkeys(EVERY, 5))
    stock = StockLevels(1.0, inventory.read, timer=clock)
    await stock.of(["SKU-0001"], every)
    inventory.levels["SKU-0001"] = 2
    clock.now += 0.8
    assert await stock.of(["SKU-0001"], every) == {"SKU-0001": 5}  # answered at once...

    async def renewed() -> bool:  # ...while the next reading runs, until it is in
        return await stock.of(["SKU-0001"], every) == {"SKU-0001": 2}

    await until(renewed)
    assert len(inventory.calls) == 6
    clock.now += 0.5  # the first reading is now 1.3 s old, the second 0.5 s
    assert await stock.of(["SKU-0001"], every) == {"SKU-0001": 2}
    assert len(inventory.calls) == 6


async def test_pages_at_the_same_time_share_one_reading() -> None:
    inventory = Inventory(dict.fromkeys(EVERY, 1))
    stock = StockLevels(1.0, inventory.read)
    pages = await asyncio.gather(*(stock.of([f"SKU-{n:04d}"], every) for n in range(30)))
    assert all(list(page.values()) == [1] for page in pages if page is not None)
    assert len(inventory.calls) == 3


async def test_availability_is_unknown_while_inventory_is_away() -> None:
    clock, inventory = Clock(), Inventory(dict.fromkeys(EVERY, 5))
    stock = StockLevels(1.0, inventory.read, timer=clock)
    await stock.of(["SKU-0001"], every)
    inventory.down = True
    clock.now += 1.0
    assert await stock.of(["SKU-0001"], every) is None
    assert await stock.of(["SKU-0001"], every) is None  # each page tries again
    inventory.down = False
    assert await stock.of(["SKU-0001"], every) == {"SKU-0001": 5}


async def test_zero_seconds_asks_for_each_pages_own_skus() -> None:
    inventory = Inventory(dict.fromkeys(EVERY, 5))
    stock = StockLevels(0.0, inventory.read)
    assert await stock.of(["SKU-0001", "SKU-0002"], every) == {"SKU-0001": 5, "SKU-0002": 5}
    await stock.of(["SKU-0001"], every)
    assert inventory.calls == [["SKU-0001", "SKU-0002"], ["SKU-0001"]]
    inventory.down = True
    assert await stock.of(["SKU-0001"], every) is None
