"""The push-service: consumes `notifications` (channel push only) and offers `POST /send`."""

from __future__ import annotations

from pathlib import Path

from commerce.notifications.service import make_service

service, metadata = make_service("push", "push-service", Path(__file__).parent / "migrations_push")
