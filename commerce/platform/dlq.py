"""Dead letters: list them across service databases and replay them to their topic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from commerce.platform.consumer import REPLAY_TARGET_HEADER
from commerce.platform.db import Database
from commerce.platform.outbox import Outbox
from commerce.platform.service import Service


@dataclass(frozen=True)
class DeadLetter:
    service: str
    id: int
    consumer: str
    topic: str
    partition: int
    offset: int
    type: str | None
    attempts: int
    error: str
    created_at: datetime
    replayed_at: datetime | None


async def list_dead_letters(
    service: Service, db: Database, *, include_replayed: bool = False
) -> list[DeadLetter]:
    t = service.tables.dead_letter
    query = select(t).order_by(t.c.id)
    if not include_replayed:
        query = query.where(t.c.replayed_at.is_(None))
    async with db.sessions() as session:
        rows = (await session.execute(query)).mappings().all()
    return [
        DeadLetter(
            service=service.name,
            id=r["id"],
            consumer=r["consumer"],
            topic=r["topic"],
            partition=r["partition"],
            offset=r["offset"],
            type=r["type"],
            attempts=r["attempts"],
            error=r["error"],
            created_at=r["created_at"],
            replayed_at=r["replayed_at"],
        )
        for r in rows
    ]


async def replay(service: Service, db: Database, ids: list[int] | None = None) -> int:
    """Put dead letters back on their original topic (through the outbox). Returns the count.

    The record names the consumer that gave up on it (`dlq.target`): the other consumer
    groups of a shared topic skip it, so they neither handle it twice nor dead-letter it
    again; the one that gave up handles it again (its inbox drops it if it had after all).
    """
    t = service.tables.dead_letter
    outbox = Outbox(service.tables)
    async with db.transaction() as session:
        query = select(t).where(t.c.replayed_at.is_(None)).order_by(t.c.id).with_for_update()
        if ids:
            query = query.where(t.c.id.in_(ids))
        rows = (await session.execute(query)).mappings().all()
        for row in rows:
            await outbox.add_raw(
                session,
                topic=row["topic"],
                key=row["key"],
                type_name=row["type"] or "unknown",
                value=row["value"] or b"",
                headers={
                    "dlq.replayed_from": str(row["id"]),
                    REPLAY_TARGET_HEADER: row["consumer"],
                },
            )
        if rows:
            await session.execute(
                update(t).where(t.c.id.in_([r["id"] for r in rows])).values(replayed_at=func.now())
            )
    return len(rows)
