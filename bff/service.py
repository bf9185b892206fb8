"""The gateway-bff service: the one public entry point (`/v1`), with a landing page at `/`."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse
from sqlalchemy.dialects.postgresql import insert

from bff import acp, acp_openapi, acp_webhooks, assistant, delivery, errors
from bff.auth import hasher
from bff.routes import router
from bff.tables import addresses, metadata, users
from commerce.contracts.orders import OrderStatusChanged
from commerce.demo import DEMO_USERS
from commerce.platform.consumer import Handler
from commerce.platform.db import Database
from commerce.platform.retention import Retention
from commerce.platform.service import Service, add_routes
from commerce.services import UI_PORT

LANDING = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>agentshop</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 42rem; margin: 3rem auto; line-height: 1.5">
<h1>agentshop</h1>
<p>An agentic shopping assistant on an event-driven commerce backend. This is its public API.</p>
<ul><li><a href="/docs">API reference (OpenAPI)</a></li><li><a href="/openapi.json">OpenAPI document</a></li>
<li><a href="{ui_url}">Shop by chat (the UI)</a></li></ul>
<p>Sign in with <code>POST /v1/auth/token</code>; demo users are listed in the README.</p></body></html>"""

# the landing page loads nothing and runs no script; its only styling is inline attributes
LANDING_CSP = (
    "default-src 'none'; style-src-attr 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)


def configure(app: FastAPI) -> None:
    errors.install(app)
    app.state.error_response = errors.error_response
    for extra in (acp.router, acp.delegation, assistant.router):
        add_routes(app, extra)
    acp_openapi.install(app)
    settings = app.state.runtime.settings
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Correlation-ID"],
        expose_headers=["X-Correlation-ID", "Retry-After", "Idempotent-Replayed"],
    )

    # the web UI's port follows the port offset like every other port (`agentshop up`)
    page = LANDING.replace("{ui_url}", f"http://localhost:{UI_PORT + settings.port_offset}")

    @app.get("/", include_in_schema=False)
    async def landing() -> HTMLResponse:
        return HTMLResponse(page, headers={"Content-Security-Policy": LANDING_CSP})


DEMO_ADDRESSES = {
    "user_123": {"name": "Alice Martin", "line1": "1 Main St", "city": "San Francisco", "region": "CA",
                 "postal_code": "94105", "country": "US"},
    "user_456": {"name": "Bob Chen", "line1": "200 Pine St", "city": "Seattle", "region": "WA",
                 "postal_code": "98101", "country": "US"},
    "user_789": {"name": "Carla Diaz", "line1": "12 Congress Ave", "city": "Austin", "region": "TX",
                 "postal_code": "78701", "country": "US"},
}  # fmt: skip


async def seed(db: Database) -> None:
    async with db.transaction() as session:
        for person in DEMO_USERS:
            await session.execute(
                insert(users)
                .values(
                    user_id=person.user_id,
                    email=person.email,
                    name=person.name,
                    phone=person.phone,
                    password_hash=hasher.hash(person.password),
                )
                .on_conflict_do_nothing()
            )
            await session.execute(
                insert(addresses)
                .values(user_id=person.user_id, address=DEMO_ADDRESSES[person.user_id])
                .on_conflict_do_nothing()
            )


service = Service(
    name="gateway-bff",
    title="agentshop API",
    metadata=metadata,
    migrations=Path(__file__).parent / "migrations",
    router=router,
    background=[
        assistant.assistant_runtime,
        delivery.follow_checkouts,
        acp_webhooks.dispatcher,
    ],
    handlers=[
        Handler(OrderStatusChanged, acp_webhooks.order_changed, wanted=acp_webhooks.for_agents)
    ],
    retention=[
        Retention(
            "idempotency_keys",
            "created_at",
            lambda s: timedelta(hours=s.idempotency_key_retention_hours),
        )
    ],
    seed=seed,
    configure_app=configure,
    public=True,
)
