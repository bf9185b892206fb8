"""A notification service's work: record, deliver after the commit, sweep what was left.

Each service consumes the shared `notifications` topic and handles only its own
channel; `POST /send` takes the same request directly. Every notification is recorded
(sent, or failed with the reason) so the UI can show an inbox. A bad recipient or an
unknown template is recorded as failed, never retried.

An email that goes out over SMTP is recorded `queued` in the handler's transaction and
sent after it committed (at once by the consumer or the route, or by the sender's sweep
after a restart); it is claimed in a transaction of its own before it is sent, so one
notification id is sent once, and its Message-ID is that id (docs/adr/0032).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import MetaData, Table
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.contracts.notifications import NotificationRequested
from commerce.notifications.domain import (
    FAILED,
    QUEUED,
    SENT,
    ChannelName,
    Notification,
    prepare,
)
from commerce.notifications.smtp import SendError, deliver_email
from commerce.notifications.store import NotificationStore
from commerce.platform.consumer import MessageContext
from commerce.platform.runtime import Runtime
from commerce.platform.settings import SmtpSettings

log = structlog.get_logger(__name__)

SWEEP_SECONDS = 2.5  # how often the sender looks for notifications left to deliver (half
# of RETRY_AFTER_SECONDS: one is delivered at most 7.5 s after a commit whose delivery was lost)
RETRY_AFTER_SECONDS = 5.0  # a queued one this old was not delivered after its commit
SENDING_LEASE_SECONDS = 60.0  # one `sending` for this long was left by a sender that stopped


@dataclass
class Channel:
    """One notification service: its channel, name and table."""

    channel: ChannelName
    name: str
    metadata: MetaData
    _in_flight: set[uuid.UUID] = field(default_factory=set)

    @property
    def table(self) -> Table:
        return self.metadata.tables["notifications"]

    def store(self, session: AsyncSession) -> NotificationStore:
        return NotificationStore(self.table, session)

    async def record(
        self, session: AsyncSession, notification: Notification, smtp: SmtpSettings
    ) -> dict[str, Any]:
        """Record one notification in `session`'s transaction, `queued` when it goes out over
        the network (email with an SMTP host): `deliver` sends it after the commit."""
        store = self.store(session)
        prepared = prepare(self.channel, notification, delivers=bool(smtp.host))
        added = await store.add(
            {
                "notification_id": notification.notification_id, "user_id": notification.user_id,
                "recipient": notification.recipient, "template": notification.template,
                "subject": prepared.subject, "body": prepared.body, "data": dict(notification.data),
                "status": prepared.status, "failure_reason": prepared.failure_reason,
            }
        )  # fmt: skip
        if added is None:  # recorded before: as it was
            existing = await store.get(notification.notification_id)
            assert existing is not None
            return existing
        log.info(
            f"[{self.name}] INFO: Received request to send {self.channel} to {notification.user_id}",
            template=notification.template,
        )
        if prepared.status == FAILED:
            log.warning("notification.failed", channel=self.channel, reason=prepared.failure_reason)
        return added

    async def deliver(self, runtime: Runtime, notification_id: uuid.UUID) -> dict[str, Any] | None:
        """Send one queued notification, outside any transaction; None when it is not
        queued (sent, failed, or being sent by another sender)."""
        if notification_id in self._in_flight:
            return None
        self._in_flight.add(notification_id)
        try:
            db = runtime.db
            async with db.transaction() as session:  # claimed once: no second copy is sent
                claimed = await self.store(session).claim(notification_id)
            if claimed is None:
                return None
            status, reason = SENT, None
            smtp = runtime.settings.smtp
            try:
                if smtp.host:
                    await asyncio.to_thread(
                        deliver_email, smtp, claimed["recipient"], claimed["subject"],
                        claimed["body"], notification_id,
                    )  # fmt: skip
            except SendError as exc:
                status, reason = FAILED, str(exc)
                log.warning("notification.failed", channel=self.channel, reason=reason)
            async with db.transaction() as session:
                return await self.store(session).finish(notification_id, status, reason)
        finally:
            self._in_flight.discard(notification_id)

    async def send(self, runtime: Runtime, notification: Notification) -> dict[str, Any]:
        """Record one notification and deliver it after the commit, before answering."""
        async with runtime.db.transaction() as session:
            recorded = await self.record(session, notification, runtime.settings.smtp)
        if recorded["status"] != QUEUED:
            return recorded
        return await self.deliver(runtime, recorded["notification_id"]) or await self.get(
            runtime, recorded["notification_id"]
        )

    async def get(self, runtime: Runtime, notification_id: uuid.UUID) -> dict[str, Any]:
        async with runtime.db.sessions() as session:
            row = await self.store(session).get(notification_id)
        assert row is not None
        return row

    def ours(self, message: NotificationRequested) -> bool:
        """A notification for this channel (the three channels share one topic)."""
        return message.channel == self.channel

    async def handle(self, message: NotificationRequested, ctx: MessageContext) -> None:
        """One of this channel's (the consumer passes the others over: `ours`)."""
        notification = Notification(
            notification_id=message.notification_id, user_id=message.user_id,
            recipient=message.recipient, template=message.template, data=message.data,
        )  # fmt: skip
        runtime = ctx.runtime
        recorded = await self.record(ctx.session, notification, runtime.settings.smtp)
        if recorded["status"] == QUEUED:
            ctx.after_commit(lambda: self._deliver_quietly(runtime, recorded["notification_id"]))

    async def _deliver_quietly(self, runtime: Runtime, notification_id: uuid.UUID) -> None:
        await self.deliver(runtime, notification_id)

    async def sweep_once(self, runtime: Runtime) -> int:
        """Deliver what was queued and not sent after its commit (the service stopped in
        between): a `sending` left by a stopped sender is queued again, then every queued
        notification older than RETRY_AFTER_SECONDS is delivered. Returns how many."""
        async with runtime.db.transaction() as session:
            store = self.store(session)
            await store.requeue_stale(SENDING_LEASE_SECONDS, self._in_flight)
            due = await store.due(RETRY_AFTER_SECONDS)
        delivered = 0
        for notification_id in due:
            if await self.deliver(runtime, notification_id) is not None:
                delivered += 1
        return delivered

    async def sender(self, runtime: Runtime) -> None:
        """Background task: `sweep_once` every SWEEP_SECONDS."""
        while True:
            await self.sweep_once(runtime)
            await asyncio.sleep(SWEEP_SECONDS)
