"""Agent clients of the Agentic Commerce Protocol and how their requests are verified.

An agent client is registered with an API key (kept as its SHA-256), a signing secret,
the person it buys for, and optionally a webhook endpoint with its own secret. Its
requests carry `Authorization: Bearer <API key>`, `Timestamp` (RFC 3339) and
`Signature`: base64 of HMAC-SHA256(signing secret, `<Timestamp>.<METHOD>.<path?query>.<raw body>`).
A timestamp further than the tolerance from now, a missing or wrong signature: 401. A
person's own bearer token (a JWT from `/v1/auth/token`) still works without a signature.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from bff.errors import ApiError
from bff.tables import acp_agents
from commerce.contracts.acp import rfc3339
from commerce.platform.db import Database

API_KEY_PREFIX = "ak_"


@dataclass(frozen=True)
class Agent:
    agent_id: str
    user_id: str
    signing_secret: str
    webhook_url: str | None
    webhook_secret: str | None


@dataclass(frozen=True)
class Registered:
    agent_id: str
    api_key: str
    signing_secret: str
    webhook_secret: str | None


def key_hash(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def signature(secret: str, timestamp: str, method: str, target: str, body: bytes) -> str:
    """What an agent sends as `Signature` for one request."""
    message = f"{timestamp}.{method.upper()}.{target}.".encode() + body
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


async def register(
    db: Database, agent_id: str, user_id: str, webhook_url: str | None = None
) -> Registered:
    """Register (or re-key) an agent client; the API key and secrets are shown once."""
    api_key = API_KEY_PREFIX + secrets.token_urlsafe(24)
    signing_secret = secrets.token_urlsafe(32)
    webhook_secret = secrets.token_urlsafe(32) if webhook_url else None
    values = {
        "agent_id": agent_id, "api_key_hash": key_hash(api_key), "signing_secret": signing_secret,
        "user_id": user_id, "webhook_url": webhook_url, "webhook_secret": webhook_secret,
    }  # fmt: skip
    async with db.transaction() as session:
        await session.execute(
            insert(acp_agents)
            .values(**values)
            .on_conflict_do_update(index_elements=["agent_id"], set_=values)
        )
    return Registered(agent_id, api_key, signing_secret, webhook_secret)


async def verified(
    request: Request, db: Database, api_key: str, *, tolerance_seconds: float
) -> Agent:
    """The agent a signed request comes from; 401 unless key, timestamp and signature hold."""
    async with db.sessions() as session:
        row = (
            (await session.execute(select(acp_agents).where(acp_agents.c.api_key_hash == key_hash(api_key))))
            .mappings()
            .first()
        )  # fmt: skip
    if row is None:
        raise ApiError(401, "invalid_token", "Unknown API key.", error_type="authentication")
    stamp, sent = request.headers.get("timestamp"), request.headers.get("signature")
    if not stamp or not sent:
        raise ApiError(
            401, "signature_required", "Signed requests need Timestamp and Signature headers.",
            error_type="authentication",
        )  # fmt: skip
    try:
        valid = rfc3339(stamp.strip())
    except ValueError:
        valid = False
    if not valid:
        raise ApiError(
            401,
            "invalid_timestamp",
            "Timestamp must be an RFC 3339 date-time.",
            error_type="authentication",
        )
    when = datetime.fromisoformat(stamp.strip().upper().replace("Z", "+00:00"))
    if abs((datetime.now(UTC) - when).total_seconds()) > tolerance_seconds:
        raise ApiError(
            401, "stale_timestamp", "The request's Timestamp is too far from now; sign it again.",
            error_type="authentication",
        )  # fmt: skip
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    expected = signature(
        str(row["signing_secret"]), stamp, request.method, target, await request.body()
    )
    if not hmac.compare_digest(expected.encode(), sent.strip().encode()):
        raise ApiError(
            401,
            "invalid_signature",
            "The request's Signature does not match.",
            error_type="authentication",
        )
    return Agent(
        str(row["agent_id"]), str(row["user_id"]), str(row["signing_secret"]),
        row["webhook_url"], row["webhook_secret"],
    )  # fmt: skip


def register_command(agent_id: str, user_id: str, webhook_url: str | None) -> Registered:
    """`agentshop acp-agent`: register an agent client in gateway-bff's database (from
    DATABASE_URL or GATEWAY_BFF_DATABASE_URL)."""
    import asyncio

    from commerce.platform.settings import get_settings
    from commerce.services import SERVICES

    settings, spec = get_settings(), SERVICES["gateway-bff"]

    async def main() -> Registered:
        db = Database(settings.service_database_url(spec.env_prefix, spec.database))
        try:
            return await register(db, agent_id, user_id, webhook_url)
        finally:
            await db.dispose()

    return asyncio.run(main())
