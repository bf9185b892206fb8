"""Rows that are only needed for a while are deleted by age, in small batches.

Every service keeps the ids of the messages it consumed (`inbox`) for
`AGENTSHOP_INBOX_RETENTION_HOURS`; a service may declare more tables (the BFF's
idempotency keys). Each batch is its own short transaction, so a purge never holds
locks that requests or consumers wait for.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import text

from commerce.platform.settings import Settings

if TYPE_CHECKING:
    from commerce.platform.service import ServiceRuntime

log = structlog.get_logger(__name__)

BATCH_ROWS = 1000


@dataclass(frozen=True)
class Retention:
    """Rows of `table` whose `column` (a timestamp) is older than `keep(settings)` go."""

    table: str
    column: str
    keep: Callable[[Settings], timedelta]


INBOX = Retention("inbox", "processed_at", lambda s: timedelta(hours=s.inbox_retention_hours))


async def purge(runtime: ServiceRuntime, rule: Retention, batch: int = BATCH_ROWS) -> int:
    """Delete every row older than the rule allows; the number deleted."""
    keep_seconds = rule.keep(runtime.settings).total_seconds()
    statement = text(
        f'DELETE FROM "{rule.table}" WHERE ctid = ANY(ARRAY('
        f'SELECT ctid FROM "{rule.table}" '
        f'WHERE "{rule.column}" < now() - make_interval(secs => :keep) LIMIT :batch))'
    )
    total = 0
    while True:
        async with runtime.db.transaction() as session:
            result = await session.execute(statement, {"keep": keep_seconds, "batch": batch})
        deleted = int(getattr(result, "rowcount", 0) or 0)
        total += deleted
        if deleted:
            runtime.metrics.purged.labels(rule.table).inc(deleted)
        if deleted < batch:
            return total
        await asyncio.sleep(0)  # let requests and consumers in between batches


async def retention_loop(runtime: ServiceRuntime) -> None:
    """Purge the service's tables now and then, for as long as the service runs."""
    rules = [INBOX, *runtime.service.retention]
    while True:
        for rule in rules:
            deleted = await purge(runtime, rule)
            if deleted:
                log.info("retention.purged", table=rule.table, rows=deleted)
        await asyncio.sleep(runtime.settings.retention_interval_seconds)
