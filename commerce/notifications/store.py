"""A notification service's storage: its `notifications` table, in the caller's session."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.notifications.domain import QUEUED, SENDING
from commerce.platform.db import as_dict, fetch


class NotificationStore:
    def __init__(self, table: Table, session: AsyncSession) -> None:
        self.table = table
        self.session = session

    async def get(self, notification_id: uuid.UUID) -> dict[str, Any] | None:
        rows = await fetch(
            self.session, f"SELECT * FROM {self.table.name} WHERE notification_id = $1",
            notification_id,
        )  # fmt: skip
        return as_dict(rows[0]) if rows else None

    async def add(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """Record a notification; None when one with its id is there already (the other
        one's transaction decides: this waits for it)."""
        rows = await fetch(
            self.session,
            f"INSERT INTO {self.table.name} (notification_id, user_id, recipient, template,"
            " subject, body, data, status, failure_reason)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
            " ON CONFLICT (notification_id) DO NOTHING RETURNING *",
            values["notification_id"], values["user_id"], values["recipient"],
            values["template"], values["subject"], values["body"], json.dumps(values["data"]),
            values["status"], values["failure_reason"],
        )  # fmt: skip
        return as_dict(rows[0]) if rows else None

    async def claim(self, notification_id: uuid.UUID) -> dict[str, Any] | None:
        """Mark a queued notification `sending`; None when it is not queued."""
        t = self.table
        row = (
            (
                await self.session.execute(
                    update(t)
                    .where(t.c.notification_id == notification_id, t.c.status == QUEUED)
                    .values(status=SENDING)
                    .returning(t)
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    async def finish(
        self, notification_id: uuid.UUID, status: str, reason: str | None
    ) -> dict[str, Any] | None:
        """Record how sending a claimed notification ended."""
        t = self.table
        row = (
            (
                await self.session.execute(
                    update(t)
                    .where(t.c.notification_id == notification_id, t.c.status == SENDING)
                    .values(status=status, failure_reason=reason)
                    .returning(t)
                )
            )
            .mappings()
            .first()
        )
        return dict(row) if row is not None else None

    async def requeue_stale(self, lease_seconds: float, in_flight: Collection[uuid.UUID]) -> None:
        """Queue again what a stopped sender left `sending` for longer than the lease."""
        t = self.table
        age = func.now() - t.c.created_at
        await self.session.execute(
            update(t)
            .where(
                t.c.status == SENDING,
                age > func.make_interval(0, 0, 0, 0, 0, 0, lease_seconds),
                t.c.notification_id.not_in(list(in_flight) or [uuid.UUID(int=0)]),
            )
            .values(status=QUEUED)
        )

    async def due(self, older_than_seconds: float, limit: int = 100) -> list[uuid.UUID]:
        """Queued notifications older than this, oldest first."""
        t = self.table
        age = func.now() - t.c.created_at
        return list(
            await self.session.scalars(
                select(t.c.notification_id)
                .where(
                    t.c.status == QUEUED,
                    age > func.make_interval(0, 0, 0, 0, 0, 0, older_than_seconds),
                )
                .order_by(t.c.created_at)
                .limit(limit)
            )
        )

    async def inbox(self, user_id: str, limit: int) -> list[dict[str, Any]]:
        t = self.table
        rows = await self.session.execute(
            select(t).where(t.c.user_id == user_id).order_by(t.c.created_at.desc()).limit(limit)
        )
        return [dict(r) for r in rows.mappings()]
