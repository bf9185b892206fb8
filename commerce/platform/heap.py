"""The garbage collector, tuned for a process that serves requests on one event loop.

A full (generation 2) collection walks every object the process holds: with the
libraries of every service loaded that is millions, and a pass stops the event loop for
up to a few hundred milliseconds, which every request in flight waits out. After start-up
the objects made so far (modules, classes, compiled statements, catalog documents) live
as long as the process, so they are moved out of the collector's reach with `gc.freeze`,
and collections are made rarer with higher thresholds. Cycles are still collected; only
the pauses are shorter and less frequent (docs/adr/0017).
"""

from __future__ import annotations

import gc

import structlog

log = structlog.get_logger(__name__)


def settle(thresholds: tuple[int, int, int]) -> None:
    """Collect once, freeze what survives, then apply `thresholds`."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    log.info("heap.settled", frozen=gc.get_freeze_count(), thresholds=gc.get_threshold())
