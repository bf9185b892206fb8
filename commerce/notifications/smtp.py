"""The SMTP adapter of the email-service."""

from __future__ import annotations

import smtplib
import uuid
from email.message import EmailMessage

from commerce.platform.settings import SmtpSettings

SendError = (OSError, smtplib.SMTPException)


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
