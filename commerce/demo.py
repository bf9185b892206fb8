"""Demo identities shared by the seeds of several services (dev and tests only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DemoUser:
    user_id: str
    name: str
    email: str
    phone: str
    password: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("user_123", "Alice Martin", "alice@example.com", "+15550100123", "alice-demo-pass"),
    DemoUser("user_456", "Bob Chen", "bob@example.com", "+15550100456", "bob-demo-pass"),
    DemoUser("user_789", "Carla Diaz", "carla@example.com", "+15550100789", "carla-demo-pass"),
)
