"""Once services run, start-up's objects are frozen and collections are rarer."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from commerce.platform import heap
from commerce.platform.settings import Settings


@pytest.fixture
def restored_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


def test_settle_freezes_what_exists_and_applies_the_thresholds(restored_gc: None) -> None:
    survivor = [object() for _ in range(1000)]
    heap.settle((12_345, 7, 3))
    assert gc.get_threshold() == (12_345, 7, 3)
    assert gc.get_freeze_count() >= len(survivor)
    assert not any(o is survivor for o in gc.get_objects())  # out of every collection's reach


def test_thresholds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTSHOP_GC_THRESHOLDS", "[5000, 10, 10]")
    assert Settings().gc_thresholds == (5000, 10, 10)
