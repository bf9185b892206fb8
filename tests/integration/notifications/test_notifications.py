"""email-, sms- and push-service against the real broker and databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
import structlog

from commerce.contracts.notifications import NotificationRequested
from commerce.notifications.email import metadata
from tests.conftest import ServiceStack
from tests.integration.helpers import eventually, send

pytestmark = pytest.mark.integration
SERVICES = ("email-service", "sms-service", "push-service")


async def inbox(stack: ServiceStack, service: str, user: str) -> list[dict[str, Any]]:
    async with stack.client(service) as http:
        items: list[dict[str, Any]] = (
            await http.get("/notifications", params={"user_id": user})
        ).json()["items"]
        return items


async def test_each_service_handles_only_its_channel_and_logs_the_request(
    stack: ServiceStack, producer: Any
) -> None:
    await stack.ensure(*SERVICES)
    user = f"user_{uuid.uuid4().hex[:6]}"
    data: dict[str, str | int | float | bool | None] = {
        "order_id": "8c1d2e3f-0000",
        "total_cents": 2599,
        "currency": "USD",
    }
    with structlog.testing.capture_logs() as logs:
        await send(
            producer,
            NotificationRequested(
                channel="email",
                user_id=user,
                recipient="alice@example.com",
                template="order_confirmation",
                data=data,
            ),
        )
        await send(
            producer,
            NotificationRequested(
                channel="sms",
                user_id=user,
                recipient="+15550100123",
                template="order_confirmation",
                data=data,
            ),
        )
        await send(
            producer,
            NotificationRequested(
                channel="sms",
                user_id=user,
                recipient="not-a-phone",
                template="order_confirmation",
                data=data,
            ),
        )
        emails = await eventually(
            lambda: inbox(stack, "email-service", user), lambda i: len(i) == 1
        )
        texts = await eventually(lambda: inbox(stack, "sms-service", user), lambda i: len(i) == 2)
    assert (
        emails[0]["subject"] == "Your order 8c1d2e3f is confirmed"
        and "Total: 25.99 USD" in emails[0]["body"]
    )
    assert sorted(t["status"] for t in texts) == ["failed", "sent"]
    failed = next(t for t in texts if t["status"] == "failed")
    assert "E.164" in failed["failure_reason"]
    assert await inbox(stack, "push-service", user) == []
    events = {entry["event"] for entry in logs}
    assert f"[email-service] INFO: Received request to send email to {user}" in events
    assert f"[sms-service] INFO: Received request to send sms to {user}" in events


async def test_send_endpoint_and_bad_input(stack: ServiceStack) -> None:
    await stack.ensure("push-service")
    async with stack.client("push-service") as http:
        sent = await http.post(
            "/send",
            json={
                "user_id": "user_123",
                "recipient": "device-1",
                "template": "order_shipped",
                "data": {"order_id": "abc12345"},
            },
        )
        assert sent.status_code == 202 and sent.json()["status"] == "sent"
        unknown = await http.post(
            "/send", json={"user_id": "user_123", "recipient": "device-1", "template": "nope"}
        )
        assert (
            unknown.status_code == 202
            and unknown.json()["failure_reason"] == "unknown template 'nope'"
        )
        assert (
            await http.post("/send", json={"user_id": "", "recipient": "x", "template": "t"})
        ).status_code == 422
        assert (
            await http.post(
                "/send", json={"user_id": "u", "recipient": "x", "template": "t", "extra": 1}
            )
        ).status_code == 422
        assert (await http.get(f"/notifications/{uuid.uuid4()}")).status_code == 404
        assert (await http.get(f"/notifications/{sent.json()['notification_id']}")).json()[
            "template"
        ] == "order_shipped"


class SmtpSink:
    """A loopback SMTP server that keeps what it receives (enough of RFC 5321 for smtplib)."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 sink ready\r\n")
        while line := await reader.readline():
            command = line.decode().strip().upper()
            if command.startswith("DATA"):
                writer.write(b"354 go ahead\r\n")
                await writer.drain()
                body = await reader.readuntil(b"\r\n.\r\n")
                self.messages.append(body.decode())
                writer.write(b"250 queued\r\n")
            elif command.startswith("QUIT"):
                writer.write(b"221 bye\r\n")
                await writer.drain()
                break
            else:
                writer.write(b"250 ok\r\n")
            await writer.drain()
        writer.close()


@pytest.fixture
async def smtp_sink(
    stack: ServiceStack, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    server = await asyncio.start_server(sink.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    # what EMAIL_SERVICE_SMTP_HOST / _PORT set, for the services of this stack
    monkeypatch.setattr(stack.settings.smtp, "host", "127.0.0.1")
    monkeypatch.setattr(stack.settings.smtp, "port", port)
    async with server:
        yield sink


async def test_email_is_delivered_over_smtp_when_configured(
    stack: ServiceStack, smtp_sink: SmtpSink
) -> None:
    await stack.ensure("email-service")
    recipient = f"smtp-{uuid.uuid4().hex[:8]}@example.com"  # other tests' emails may pass by
    async with stack.client("email-service") as http:
        sent = await http.post(
            "/send",
            json={"user_id": "user_123", "recipient": recipient, "template": "refund_processed",
                  "data": {"order_id": "abc12345", "amount_cents": 500, "currency": "USD"}},
        )  # fmt: skip
    assert sent.json()["status"] == "sent"
    mine = [m for m in smtp_sink.messages if f"To: {recipient}" in m]
    assert len(mine) == 1
    assert "Subject: Your refund of 5.00 USD is on its way" in mine[0]


async def test_an_email_is_sent_after_commit_once_per_notification_id(
    stack: ServiceStack, producer: Any, smtp_sink: SmtpSink
) -> None:
    """The consumer records the email, commits, then sends it: a redelivered request
    (same notification id) sends nothing more, and the mail carries that id."""
    await stack.ensure("email-service")
    user = f"user_{uuid.uuid4().hex[:6]}"
    recipient = f"once-{uuid.uuid4().hex[:8]}@example.com"
    request = NotificationRequested(
        channel="email", user_id=user, recipient=recipient, template="order_shipped",
        data={"order_id": "abc12345"},
    )  # fmt: skip
    for _ in range(2):  # two messages, one notification id
        await send(producer, request)
    emails = await eventually(
        lambda: inbox(stack, "email-service", user), lambda i: [e["status"] for e in i] == ["sent"]
    )
    assert emails[0]["notification_id"] == str(request.notification_id)
    mine = [m for m in smtp_sink.messages if f"To: {recipient}" in m]
    assert len(mine) == 1
    assert f"Message-ID: <{request.notification_id}@agentshop.local>" in mine[0]


async def test_emails_left_unsent_by_a_stop_are_sent_by_the_sweep(
    stack: ServiceStack, smtp_sink: SmtpSink
) -> None:
    """A stop between the commit and the send leaves a notification `queued` (or `sending`,
    if it stopped while sending): the email-service's sweep sends each of them once."""
    await stack.ensure("email-service")
    runtime = stack.runtime("email-service")
    table = metadata.tables["notifications"]
    user = f"user_{uuid.uuid4().hex[:6]}"
    left = {
        "queued": (uuid.uuid4(), f"queued-{uuid.uuid4().hex[:8]}@example.com", "now()"),
        "sending": (uuid.uuid4(), f"sending-{uuid.uuid4().hex[:8]}@example.com", "now() - interval '5 minutes'"),
    }  # fmt: skip
    async with runtime.db.transaction() as session:
        for status, (notification_id, recipient, created) in left.items():
            await session.execute(
                table.insert().values(
                    notification_id=notification_id, user_id=user, recipient=recipient,
                    template="order_shipped", subject="Order abc12345 has shipped",
                    body="Good news: order abc12345 is on its way.", data={}, status=status,
                    created_at=sa.text(created),
                )
            )  # fmt: skip
    emails = await eventually(
        lambda: inbox(stack, "email-service", user),
        lambda i: sorted(e["status"] for e in i) == ["sent", "sent"],
    )
    assert len(emails) == 2
    for notification_id, recipient, _ in left.values():
        mine = [m for m in smtp_sink.messages if f"To: {recipient}" in m]
        assert len(mine) == 1 and f"<{notification_id}@agentshop.local>" in mine[0]
