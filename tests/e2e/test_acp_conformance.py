"""The Agentic Commerce Protocol's own OpenAPI documents, run against the BFF by schemathesis.

Every check schemathesis has (status codes, headers, response schemas, positive data
accepted, negative data rejected, Allow headers, authentication), 20 examples per
operation, derandomized (schemathesis's deterministic mode: the same cases every run; the
seed is given too, for runs without it). Run alone:

    AGENTSHOP_PORT_OFFSET=28000 .venv/bin/pytest tests/e2e/test_acp_conformance.py -q

ACP_CONFORMANCE_OUTPUT=<file> keeps schemathesis's whole report.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
import yaml

from commerce.services import SERVICES
from loadtests.runner import LOAD_PASSWORD, load_email, seed_load_users
from tests.conftest import ServiceStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "commerce" / "contracts" / "acp" / "2026-04-17"
API_VERSION = "2026-04-17"


ERRATA = """Where the 2026-04-17 document contradicts itself, the run uses it corrected:
1. GET /checkout_sessions/{id} and POST .../cancel list no `4XX` response, unlike every
   other operation, so a missing API-Version (400), a missing or bad token (401), a
   rate limit (429) and (for cancel) an unknown session (404) are undocumented there;
   both get the `4XX: Error` response the other operations declare.
2. CheckoutSessionWithOrder is `allOf` a closed CheckoutSessionBase (additionalProperties:
   false, no `order`) and `{order}` (required), which no document satisfies; the base
   gets `order` as an optional property so the completed session can validate.
"""
CONFIG = """
# the person's bearer token, for the document's bearerAuth scheme
[auth.openapi.bearerAuth]
bearer = "${ACP_CONFORMANCE_TOKEN}"

# cancel: 405 is the document's own answer for a session already canceled or completed
[[operations]]
include-operation-id = "cancelCheckoutSession"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "405", "409", "429"]

# delegate_payment: 422 is the document's "semantic validation error" (invalid_card: a card
# number whose check digit is wrong, a month that is not 1-12), for schema-valid requests
[[operations]]
include-operation-id = "delegatePayment"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]
"""


def corrected(directory: Path) -> Path:
    """The vendored checkout document with ERRATA applied, written to `directory`."""
    document = yaml.safe_load((SPECS / "openapi.agentic_checkout.yaml").read_text())
    client_error = {
        "description": "Client error",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    document["paths"]["/checkout_sessions/{checkout_session_id}"]["get"]["responses"]["4XX"] = (
        client_error
    )
    document["paths"]["/checkout_sessions/{checkout_session_id}/cancel"]["post"]["responses"][
        "4XX"
    ] = client_error
    base = document["components"]["schemas"]["CheckoutSessionBase"]
    base["properties"]["order"] = {"$ref": "#/components/schemas/Order"}
    path = directory / "openapi.agentic_checkout.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    (directory / "schemathesis.toml").write_text(CONFIG)
    return path


async def run_schemathesis(document: Path, base: str, token: str, *extra: str) -> str:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    process = await asyncio.create_subprocess_exec(
        str(schemathesis), "--config-file", str(document.parent / "schemathesis.toml"),
        "run", str(document), "--url", base,
        "--checks", "all", "--max-examples", "20", "--workers", "1",
        "--phases", "examples,coverage,fuzzing", "--seed", "19", "--generation-deterministic",
        "--generation-allow-x00", "false",
        "--request-timeout", "20", "--no-color", *extra,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        cwd=ROOT, env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.e2e.acp_hooks", "ACP_CONFORMANCE_TOKEN": token, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    output, _ = await asyncio.wait_for(process.communicate(), timeout=900)
    if os.environ.get("ACP_CONFORMANCE_OUTPUT"):  # a file for the whole report, when set
        await asyncio.to_thread(Path(os.environ["ACP_CONFORMANCE_OUTPUT"]).write_bytes, output)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text[-12000:]
    return text


async def test_the_checkout_api_conforms_to_the_protocol(
    stack: ServiceStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await stack.ensure(*SERVICES)
    monkeypatch.setattr(stack.runtime("gateway-bff").settings, "rate_limit_per_minute", 100_000)
    await seed_load_users(stack.settings, 2)
    async with stack.client("gateway-bff") as http:
        token = (
            await http.post(
                "/v1/auth/token", json={"email": load_email(1), "password": LOAD_PASSWORD}
            )
        ).json()["access_token"]
        base = str(http.base_url).rstrip("/")
    await run_schemathesis(corrected(tmp_path), base, token)


async def test_the_delegate_payment_api_conforms_to_the_protocol(
    stack: ServiceStack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await stack.ensure(*SERVICES)
    monkeypatch.setattr(stack.runtime("gateway-bff").settings, "rate_limit_per_minute", 100_000)
    await seed_load_users(stack.settings, 2)
    async with stack.client("gateway-bff") as http:
        token = (
            await http.post(
                "/v1/auth/token", json={"email": load_email(1), "password": LOAD_PASSWORD}
            )
        ).json()["access_token"]
        base = str(http.base_url).rstrip("/")
    spec = yaml.safe_load((SPECS / "openapi.delegate_payment.yaml").read_text())
    del spec["components"]["schemas"]["Error"]["properties"]["code"]["enum"]  # erratum 3
    document = tmp_path / "openapi.delegate_payment.yaml"
    document.write_text(yaml.safe_dump(spec, sort_keys=False))
    (tmp_path / "schemathesis.toml").write_text(CONFIG)
    await run_schemathesis(document, base, token)
