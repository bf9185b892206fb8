"""The sms-service: consumes `notifications` (channel sms only) and offers `POST /send`."""

from __future__ import annotations

from pathlib import Path

from commerce.notifications.service import make_service

service, metadata = make_service("sms", "sms-service", Path(__file__).parent / "migrations_sms")
