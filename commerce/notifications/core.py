"""What the three notification services share: table, templates, validation, sending.

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
import re
import smtplib
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from string import Template
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import (
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID, insert
from sqlalchemy.ext.asyncio import AsyncSession

from commerce.contracts.notifications import NotificationRequested
from commerce.platform.consumer import Handler, MessageContext
from commerce.platform.db import Database, service_metadata
from commerce.platform.service import RuntimeDep, Service

log = structlog.get_logger(__name__)
ChannelName = Literal["email", "sms", "push"]

TEMPLATES: dict[str, tuple[str, str]] = {
    "order_confirmation": ("Your order $order_ref is confirmed", "Thank you! Order $order_ref is confirmed. Total: $total."),
    "checkout_failed": ("Your checkout did not go through", "Your checkout did not go through: $reason"),
    "refund_processed": ("Your refund of $amount is on its way", "We refunded $amount for order $order_ref."),
    "refund_failed": ("We could not refund order $order_ref", "We could not refund order $order_ref: $reason"),
    "order_shipped": ("Order $order_ref has shipped", "Good news: order $order_ref is on its way."),
}  # fmt: skip
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")
SMS_LIMIT = 160


class InvalidNotification(ValueError):
    pass


def _money(cents: Any, currency: Any) -> str:
    return f"{int(cents) / 100:.2f} {currency or 'USD'}" if isinstance(cents, int) else "—"


def render(channel: str, template: str, data: dict[str, Any]) -> tuple[str, str]:
    """(subject or title, body). SMS bodies are cut to 160 characters with an ellipsis."""
    if template not in TEMPLATES:
        raise InvalidNotification(f"unknown template {template!r}")
    values = {k: "" if v is None else str(v) for k, v in data.items()}
    values.setdefault("order_ref", str(data.get("order_id", ""))[:8])
    values["total"] = _money(data.get("total_cents"), data.get("currency"))
    values["amount"] = _money(data.get("amount_cents"), data.get("currency"))
    subject, body = (Template(t).safe_substitute(values) for t in TEMPLATES[template])
    if channel == "sms" and len(body) > SMS_LIMIT:
        body = body[: SMS_LIMIT - 1] + "…"
    return subject, body


def check_recipient(channel: str, recipient: str) -> None:
    if channel == "email" and not EMAIL.match(recipient):
        raise InvalidNotification(f"{recipient!r} is not an email address")
    if channel == "sms" and not E164.match(recipient):
        raise InvalidNotification(
            f"{recipient!r} is not a phone number in E.164 form (+15551234567)"
        )
    if channel == "push" and not recipient.strip():
        raise InvalidNotification("no device or user to push to")


class SmtpSettings(BaseSettings):
    """EMAIL_SERVICE_SMTP_HOST (unset: emails are recorded, not delivered), _PORT (25),
    _USERNAME, _PASSWORD, _STARTTLS (false), _FROM."""

    model_config = SettingsConfigDict(env_prefix="EMAIL_SERVICE_SMTP_", extra="ignore")
    host: str | None = None
    port: int = 25
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    from_: str = Field("shop@agentshop.local", alias="EMAIL_SERVICE_SMTP_FROM")


def deliver_email(
    settings: SmtpSettings, recipient: str, subject: str, body: str, notification_id: uuid.UUID
) -> None:
    """Send one email. Its Message-ID is the notification's id, the same on every attempt,
    so a copy sent again after a crash between sending and recording it can be recognised."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = settings.from_, recipient, subject
    message["Message-ID"] = f"<{notification_id}@agentshop.local>"
    message.set_content(body)
    assert settings.host is not None
    with smtplib.SMTP(settings.host, settings.port, timeout=10) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        smtp.send_message(message)


def notifications_table(metadata: MetaData) -> Table:
    return Table(
        "notifications",
        metadata,
        Column("notification_id", UUID(as_uuid=True), primary_key=True),
        Column("user_id", String(64), nullable=False),
        Column("recipient", String(254), nullable=False),
        Column("template", String(64), nullable=False),
        Column("subject", Text, nullable=False),
        Column("body", Text, nullable=False),
        Column("data", JSONB, nullable=False),
        Column("status", String(8), nullable=False),
        Column("failure_reason", Text),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_notifications_user_created", "user_id", "created_at"),
    )


class SendRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"user_id": "user_123", "recipient": "alice@example.com", "template": "order_confirmation",
                                         "data": {"order_id": "8c1d2e3f", "total_cents": 2599, "currency": "USD"}}]},
    )  # fmt: skip
    notification_id: uuid.UUID | None = None
    user_id: str = Field(min_length=1, max_length=64)
    recipient: str = Field(max_length=254)
    template: str = Field(min_length=1, max_length=64)
    data: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class NotificationPublic(BaseModel):
    notification_id: uuid.UUID
    user_id: str
    recipient: str
    template: str
    subject: str
    body: str
    status: str
    failure_reason: str | None
    created_at: datetime


class NotificationsPublic(BaseModel):
    items: list[NotificationPublic]


# A notification's status: recorded (`sent` when there is nothing to deliver over the
# network, `failed` with the reason), or `queued` for the email sender, which claims it
# (`sending`) in one short transaction, sends after that commit, and records the outcome
# in another (docs/adr/0032).
QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"
SWEEP_SECONDS = 1.0  # how often the sender looks for notifications left to deliver
RETRY_AFTER_SECONDS = 5.0  # a queued one this old was not delivered after its commit
SENDING_LEASE_SECONDS = 60.0  # one `sending` for this long was left by a sender that stopped


@dataclass
class Channel:
    """One notification service: its channel, name, table and SMTP settings (email)."""

    channel: ChannelName
    name: str
    metadata: MetaData
    _in_flight: set[uuid.UUID] = field(default_factory=set)

    @property
    def table(self) -> Table:
        return self.metadata.tables["notifications"]

    async def record(self, session: AsyncSession, request: SendRequest) -> NotificationPublic:
        """Record one notification in `session`'s transaction, `queued` when it goes out over
        the network (email with an SMTP host): `deliver` sends it after the commit."""
        notification_id = request.notification_id or uuid.uuid4()
        existing = (
            (
                await session.execute(
                    select(self.table).where(self.table.c.notification_id == notification_id)
                )
            )
            .mappings()
            .first()
        )
        if existing is not None:
            return NotificationPublic(**existing)
        log.info(
            f"[{self.name}] INFO: Received request to send {self.channel} to {request.user_id}",
            template=request.template,
        )
        status, reason, subject, body = SENT, None, "", ""
        try:
            check_recipient(self.channel, request.recipient)
            subject, body = render(self.channel, request.template, dict(request.data))
            if self.channel == "email" and SmtpSettings().host:
                status = QUEUED
        except InvalidNotification as exc:
            status, reason = FAILED, str(exc)
            log.warning("notification.failed", channel=self.channel, reason=reason)
        row = {
            "notification_id": notification_id, "user_id": request.user_id, "recipient": request.recipient,
            "template": request.template, "subject": subject, "body": body, "data": request.data,
            "status": status, "failure_reason": reason,
        }  # fmt: skip
        stored = (
            (await session.execute(insert(self.table).values(**row).returning(self.table)))
            .mappings()
            .one()
        )
        return NotificationPublic(**stored)

    async def deliver(self, db: Database, notification_id: uuid.UUID) -> NotificationPublic | None:
        """Send one queued notification, outside any transaction; None when it is not
        queued (sent, failed, or being sent by another sender)."""
        if notification_id in self._in_flight:
            return None
        self._in_flight.add(notification_id)
        try:
            t = self.table
            async with db.transaction() as session:  # claimed once: no second copy is sent
                claimed = (
                    (
                        await session.execute(
                            update(t)
                            .where(t.c.notification_id == notification_id, t.c.status == QUEUED)
                            .values(status=SENDING)
                            .returning(t)
                        )
                    )
                    .mappings()
                    .first()
                )
            if claimed is None:
                return None
            status, reason = SENT, None
            smtp = SmtpSettings()
            try:
                if smtp.host:
                    await asyncio.to_thread(
                        deliver_email, smtp, claimed["recipient"], claimed["subject"],
                        claimed["body"], notification_id,
                    )  # fmt: skip
            except (OSError, smtplib.SMTPException) as exc:
                status, reason = FAILED, str(exc)
                log.warning("notification.failed", channel=self.channel, reason=reason)
            async with db.transaction() as session:
                stored = (
                    (
                        await session.execute(
                            update(t)
                            .where(t.c.notification_id == notification_id, t.c.status == SENDING)
                            .values(status=status, failure_reason=reason)
                            .returning(t)
                        )
                    )
                    .mappings()
                    .first()
                )
            return NotificationPublic(**stored) if stored is not None else None
        finally:
            self._in_flight.discard(notification_id)

    async def send(self, db: Database, request: SendRequest) -> NotificationPublic:
        """Record one notification and deliver it after the commit, before answering."""
        async with db.transaction() as session:
            recorded = await self.record(session, request)
        if recorded.status != QUEUED:
            return recorded
        return await self.deliver(db, recorded.notification_id) or await self.get(
            db, recorded.notification_id
        )

    async def get(self, db: Database, notification_id: uuid.UUID) -> NotificationPublic:
        async with db.sessions() as session:
            row = (
                (await session.execute(select(self.table).where(self.table.c.notification_id == notification_id)))
                .mappings()
                .one()
            )  # fmt: skip
        return NotificationPublic(**row)

    async def handle(self, message: NotificationRequested, ctx: MessageContext) -> None:
        if message.channel != self.channel:
            return
        request = SendRequest(
            notification_id=message.notification_id, user_id=message.user_id,
            recipient=message.recipient, template=message.template, data=message.data,
        )  # fmt: skip
        recorded = await self.record(ctx.session, request)
        if recorded.status == QUEUED:
            db = ctx.services.db
            ctx.after_commit(lambda: self._deliver_quietly(db, recorded.notification_id))

    async def _deliver_quietly(self, db: Database, notification_id: uuid.UUID) -> None:
        await self.deliver(db, notification_id)

    async def sweep_once(self, db: Database) -> int:
        """Deliver what was queued and not sent after its commit (the service stopped in
        between): a `sending` left by a stopped sender is queued again, then every queued
        notification older than RETRY_AFTER_SECONDS is delivered. Returns how many."""
        t = self.table
        age = func.now() - t.c.created_at
        async with db.transaction() as session:
            await session.execute(
                update(t)
                .where(
                    t.c.status == SENDING,
                    age > func.make_interval(0, 0, 0, 0, 0, 0, SENDING_LEASE_SECONDS),
                    t.c.notification_id.not_in(list(self._in_flight) or [uuid.UUID(int=0)]),
                )
                .values(status=QUEUED)
            )
            due = list(
                await session.scalars(
                    select(t.c.notification_id)
                    .where(
                        t.c.status == QUEUED,
                        age > func.make_interval(0, 0, 0, 0, 0, 0, RETRY_AFTER_SECONDS),
                    )
                    .order_by(t.c.created_at)
                    .limit(100)
                )
            )
        delivered = 0
        for notification_id in due:
            if await self.deliver(db, notification_id) is not None:
                delivered += 1
        return delivered

    async def sender(self, runtime: Any) -> None:
        """Background task: `sweep_once` every SWEEP_SECONDS."""
        while True:
            await self.sweep_once(runtime.db)
            await asyncio.sleep(SWEEP_SECONDS)

    def router(self) -> APIRouter:
        router = APIRouter(tags=["notifications"])
        channel = self

        @router.post(
            "/send",
            operation_id="notifications-send",
            response_model=NotificationPublic,
            status_code=202,
        )
        async def send(runtime: RuntimeDep, body: SendRequest) -> NotificationPublic:
            """Send (or record as failed, with the reason) one notification on this channel."""
            return await channel.send(runtime.db, body)

        @router.get(
            "/notifications", operation_id="notifications-list", response_model=NotificationsPublic
        )
        async def list_notifications(
            runtime: RuntimeDep,
            user_id: Annotated[str, Query(min_length=1, max_length=64)],
            limit: Annotated[int, Query(ge=1, le=200)] = 50,
        ) -> NotificationsPublic:
            """A user's inbox on this channel, newest first."""
            async with runtime.db.sessions() as session:
                rows = await session.execute(
                    select(channel.table)
                    .where(channel.table.c.user_id == user_id)
                    .order_by(channel.table.c.created_at.desc())
                    .limit(limit)
                )
                return NotificationsPublic(items=[NotificationPublic(**r) for r in rows.mappings()])

        @router.get(
            "/notifications/{notification_id}",
            operation_id="notifications-get",
            response_model=NotificationPublic,
        )
        async def get_notification(
            runtime: RuntimeDep, notification_id: uuid.UUID
        ) -> NotificationPublic:
            async with runtime.db.sessions() as session:
                row = (
                    (
                        await session.execute(
                            select(channel.table).where(
                                channel.table.c.notification_id == notification_id
                            )
                        )
                    )
                    .mappings()
                    .first()
                )
            if row is None:
                raise HTTPException(404, detail="notification not found")
            return NotificationPublic(**row)

        return router


def make_service(channel: ChannelName, name: str, migrations: Path) -> tuple[Service, MetaData]:
    metadata = service_metadata()
    notifications_table(metadata)
    handler = Channel(channel, name, metadata)
    service = Service(
        name=name,
        title=f"agentshop {name}",
        metadata=metadata,
        migrations=migrations,
        router=handler.router(),
        handlers=[Handler(NotificationRequested, handler.handle)],
        background=[handler.sender] if channel == "email" else [],
    )
    return service, metadata
