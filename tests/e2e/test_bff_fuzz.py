"""A bounded schema-based fuzz run of the BFF's OpenAPI document: no input gives a 5xx."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from bff import auth
from commerce.services import SERVICES
from loadtests.runner import LOAD_PASSWORD, load_email, seed_load_users
from tests.conftest import ServiceStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]


async def test_schemathesis_finds_no_server_errors(
    stack: ServiceStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await stack.ensure(*SERVICES)
    monkeypatch.setattr(stack.runtime("gateway-bff").settings, "rate_limit_per_minute", 100_000)
    # its sign-ins with made-up e-mails must not hold later tests' sign-ins from this address
    monkeypatch.setattr(
        stack.runtime("gateway-bff").settings, "signin_failures_per_address", 100_000
    )
    request_finalizer = auth.signin_failures.reset
    # A person of its own, so its requests count against nobody else's rate limit or data.
    await seed_load_users(stack.settings, 1)
    async with stack.client("gateway-bff") as http:
        token = (
            await http.post(
                "/v1/auth/token", json={"email": load_email(0), "password": LOAD_PASSWORD}
            )
        ).json()["access_token"]
        base = str(http.base_url).rstrip("/")
    schemathesis = Path(sys.executable).parent / "schemathesis"
    process = await asyncio.create_subprocess_exec(
        str(schemathesis), "run", f"{base}/openapi.json",
        "--checks", "not_a_server_error", "--max-examples", "15", "--workers", "2",
        "--phases", "examples,coverage,fuzzing", "--header", f"Authorization: Bearer {token}",
        "--exclude-path-regex", "/stream$", "--request-timeout", "20", "--seed", "7",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        output, _ = await asyncio.wait_for(process.communicate(), timeout=600)
    finally:
        request_finalizer()
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-6000:]
