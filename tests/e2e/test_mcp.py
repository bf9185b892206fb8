"""`agentshop mcp` driven by the MCP SDK's own client, over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters

from commerce.services import SERVICES
from tests.conftest import ServiceStack
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration
TOOLS = {
    "search_products", "product_details", "view_cart", "add_to_cart", "remove_from_cart", "quote",
    "checkout", "confirm_purchase", "order_status", "request_refund",
}  # fmt: skip


def result(answer: Any) -> Any:
    """A tool's answer as data (its structured content, or its JSON text)."""
    assert not answer.is_error, answer.content
    if answer.structured_content is not None:
        content = answer.structured_content
        return content.get("result", content) if isinstance(content, dict) else content
    return json.loads(answer.content[0].text)


def error_text(answer: Any) -> str:
    assert answer.is_error, answer
    return " ".join(getattr(part, "text", "") for part in answer.content)


async def test_a_person_shops_through_the_mcp_server_over_stdio(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    base = stack.settings.service_url("gateway-bff")
    agentshop = str(Path(sys.executable).parent / "agentshop")
    params = StdioServerParameters(
        command=agentshop,
        args=[
            "mcp",
            "--url",
            base,
            "--email",
            "carla@example.com",
            "--password",
            "carla-demo-pass",
        ],
    )
    async with Client(params, read_timeout_seconds=60) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        assert tools >= TOOLS
        found = result(
            await client.call_tool("search_products", {"query": "AA batteries", "limit": 5})
        )
        assert any("AA" in item["name"] for item in found["items"])
        await client.call_tool("add_to_cart", {"sku": "BAT-AA-8", "quantity": 1})
        cart = result(await client.call_tool("view_cart", {}))
        assert any(line["sku"] == "BAT-AA-8" for line in cart["lines"])
        refused = await client.call_tool("confirm_purchase", {"expected_total_cents": 1})
        assert "checkout first" in error_text(refused)
        shown = result(await client.call_tool("checkout", {}))
        assert shown["confirmation_required"] is True
        total = shown["total_cents"]
        wrong = await client.call_tool("confirm_purchase", {"expected_total_cents": total + 1})
        assert "nothing was bought" in error_text(wrong)
        bought = result(await client.call_tool("confirm_purchase", {"expected_total_cents": total}))
        assert bought["state"] == "completed", bought
        order = result(
            await client.call_tool("order_status", {"order_id": str(bought["order_id"])})
        )
        assert order["total_cents"] == total
        again = await client.call_tool("confirm_purchase", {"expected_total_cents": total})
        assert "checkout first" in error_text(again)  # one approval buys once
        # the refund service learns of the order from CheckoutCompleted, a moment after the
        # outcome is answered: until then the order is not found there
        asked = {"order_id": str(bought["order_id"]), "amount_cents": 100, "reason": "one was flat"}

        async def refund() -> Any:
            return await client.call_tool("request_refund", asked)

        answer = await eventually(
            refund, lambda a: not (a.is_error and "not found" in str(a.content)), within=15
        )
        assert result(answer)


async def test_the_mcp_server_speaks_streamable_http(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    base = stack.settings.service_url("gateway-bff")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).parent / "agentshop"), "mcp", "--url", base, "--transport", "http",
        "--port", str(port), "--email", "bob@example.com", "--password", "bob-demo-pass",
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/mcp"

        async def tools() -> set[str]:
            try:
                async with Client(url) as client:
                    return {tool.name for tool in (await client.list_tools()).tools}
            except Exception:
                return set()

        assert await eventually(tools, bool, within=30, every=0.2) >= TOOLS
        async with Client(url) as client:
            found = result(await client.call_tool("search_products", {"query": "usb c cable"}))
            product_id = found["items"][0]["product_id"]
            details = result(await client.call_tool("product_details", {"product_id": product_id}))
            assert details["product_id"] == product_id
    finally:
        process.terminate()
        await process.wait()
