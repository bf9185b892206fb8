"""Signed requests from registered agent clients; a person's bearer token still works."""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from bff.acp_agents import register, signature
from commerce.services import SERVICES
from tests.conftest import ServiceStack
from tests.e2e.helpers import API_VERSION, agent_for, closing, conforms, signed_client

pytestmark = pytest.mark.integration
BODY = {"line_items": [{"id": "BAT-AA-8", "quantity": 1}], "currency": "usd", "capabilities": {}}


async def test_agent_clients_sign_their_requests(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    bff = stack.runtime("gateway-bff")
    agent = await register(bff.db, f"agent-{uuid.uuid4().hex[:8]}", "user_789")
    signed = signed_client(stack, agent.api_key, agent.signing_secret)
    stale = signed_client(stack, agent.api_key, agent.signing_secret, skew=-301)
    forged = signed_client(stack, agent.api_key, "not-the-secret")
    unknown = signed_client(stack, "ak_unknown", agent.signing_secret)
    person = await agent_for(stack, "carla@example.com", "carla-demo-pass")
    async with closing(signed, stale, forged, unknown, person):
        created = await signed.post("/checkout_sessions", json=BODY)
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        assert (await signed.get(f"/checkout_sessions/{session_id}")).status_code == 200
        # the agent buys for carla: her own token sees the same session
        assert (await person.get(f"/checkout_sessions/{session_id}")).status_code == 200
        for client, code in [
            (stale, "stale_timestamp"),
            (forged, "invalid_signature"),
            (unknown, "invalid_token"),
        ]:
            refused = await client.post("/checkout_sessions", json=BODY)
            assert refused.status_code == 401, refused.text
            conforms(refused.json(), "Error")
            assert refused.json()["code"] == code
        unsigned = await person.post(
            "/checkout_sessions", json=BODY, headers={"Authorization": f"Bearer {agent.api_key}"}
        )
        assert unsigned.status_code == 401 and unsigned.json()["code"] == "signature_required"
        # a signature covers the body: the same headers on another body do not verify
        stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
        sig = signature(agent.signing_secret, stamp, "POST", "/checkout_sessions", b'{"a": 1}')
        async with httpx.AsyncClient(base_url=signed.base_url) as raw:
            tampered = await raw.post("/checkout_sessions", json=BODY, headers={
                "Authorization": f"Bearer {agent.api_key}", "API-Version": API_VERSION,
                "Timestamp": stamp, "Signature": sig, "Idempotency-Key": "t-1"})  # fmt: skip
        assert tampered.status_code == 401 and tampered.json()["code"] == "invalid_signature"
        wrong_version = await signed.get(
            f"/checkout_sessions/{session_id}", headers={"API-Version": "2025-01-01"}
        )
        assert (
            wrong_version.status_code == 400
            and wrong_version.json()["code"] == "unsupported_api_version"
        )


async def test_an_agent_client_is_registered_from_the_command_line(
    stack: ServiceStack, child_env: dict[str, str]
) -> None:
    await stack.ensure(*SERVICES)
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "agentshop"), "acp-agent", f"cli-{uuid.uuid4().hex[:8]}",
        "--user", "user_789", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**child_env, "DATABASE_URL": str(stack.settings.database_url), "AGENTSHOP_LOG_LEVEL": "WARNING"},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    keys = json.loads(out)
    signed = signed_client(stack, keys["api_key"], keys["signing_secret"])
    async with closing(signed):
        created = await signed.post("/checkout_sessions", json=BODY)
        assert created.status_code == 201, created.text
