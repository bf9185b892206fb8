"""The email-service: consumes `notifications` (channel email only) and offers `POST /send`."""

from __future__ import annotations

from pathlib import Path

from commerce.notifications.service import make_service

service, metadata = make_service(
    "email", "email-service", Path(__file__).parent / "migrations_email"
)
