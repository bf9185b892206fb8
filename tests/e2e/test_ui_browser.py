"""A person shops in the running web UI in a real headless Chromium: sign in, ask the
assistant, approve, and find the order, its steps and the confirmation message.

The app runs as `agentshop up` runs it (`streamlit run` in a child process, `ui.serve`)
against the test stack's BFF. Each screen is saved under reports/screens/ for a person to
look at.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, async_playwright, expect

from commerce.services import SERVICES
from tests.conftest import ServiceStack
from tests.e2e.helpers import closing, empty_cart, orders_of, signed_in
from ui.process import UiProcess

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCREENS = Path(__file__).resolve().parents[2] / "reports" / "screens"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
WAIT_MS = 60_000


@pytest.fixture
async def web_ui(stack: ServiceStack, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    await stack.ensure(*SERVICES)
    monkeypatch.setenv("GATEWAY_BFF_URL", stack.settings.service_url("gateway-bff"))
    app = UiProcess(stack.settings)
    app.start()
    try:
        assert await asyncio.to_thread(app.wait_ready), "the web UI did not start"
        yield f"http://127.0.0.1:{app.port}"
    finally:
        await asyncio.to_thread(app.stop)


@pytest.fixture
async def browser(tmp_path: Path) -> AsyncIterator[BrowserContext]:
    if not await asyncio.to_thread(os.path.exists, CHROMIUM):
        pytest.fail("Debian's chromium is missing: `make chromium` installs it")
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1280, "height": 800},  # a common laptop window
        )
        try:
            yield context
        finally:
            await context.close()


IDLE = """() => !document.querySelector('[data-testid="stStatusWidget"]')
             && !document.querySelector('[data-stale="true"]')"""


async def idle(page: Page) -> None:
    """Wait until the app's script run has finished and no element is left from the last one."""
    await page.wait_for_function(IDLE)
    await page.wait_for_timeout(200)
    await page.wait_for_function(IDLE)


async def screen(page: Page, name: str) -> None:
    """Save what the window shows (as a person sees it, without scrolling) and check it."""
    SCREENS.mkdir(parents=True, exist_ok=True)
    await idle(page)
    path = SCREENS / f"{name}.png"
    await page.screenshot(path=path)
    header = path.read_bytes()[:24]  # PNG signature, then the IHDR chunk: width, height
    assert header[:8] == b"\x89PNG\r\n\x1a\n", name
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert (width, height) == (1280, 800), (name, width, height)


async def in_view_above_the_chat_input(page: Page, name: str) -> None:
    """The button is inside the 1280x800 window and not under the chat input."""
    button = await page.get_by_role("button", name=re.compile(name)).bounding_box()
    prompt = await page.get_by_placeholder("Ask for something").bounding_box()
    assert button is not None and prompt is not None
    assert button["y"] >= 0 and button["y"] + button["height"] <= prompt["y"] <= 800, (
        button,
        prompt,
    )


async def test_sign_in_ask_approve_and_see_the_order(
    stack: ServiceStack, web_ui: str, browser: BrowserContext
) -> None:
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    async with closing(alice):
        await empty_cart(alice)
        orders_before = len(await orders_of(alice))
        page = browser.pages[0] if browser.pages else await browser.new_page()
        page.set_default_timeout(WAIT_MS)
        expect.set_options(timeout=WAIT_MS)

        await page.goto(web_ui)
        await expect(page.get_by_text("alice-demo-pass")).to_be_visible()
        await screen(page, "01-sign-in")
        await page.get_by_role("textbox", name="Email").fill("alice@example.com")
        await page.get_by_role("textbox", name="Password").fill("alice-demo-pass")
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_text("Signed in as")).to_be_visible()

        await page.get_by_text("Conversations").click()
        await page.get_by_role("button", name="New conversation").click()
        await expect(page.get_by_text("Tell me what you need")).to_be_visible()
        await screen(page, "02-assistant")

        prompt = page.get_by_placeholder("Ask for something")
        await prompt.fill("two packs of AA batteries and a USB-C cable, under $30, ship home")
        await prompt.press("Enter")
        await expect(page.get_by_text("Please confirm this purchase")).to_be_visible()
        await expect(page.get_by_role("cell", name="AA Alkaline Batteries, 4-pack")).to_be_visible()
        await expect(page.get_by_text("(within budget)")).to_be_visible()
        approve = page.get_by_role("button", name=re.compile(r"Approve and pay \$\d+\.\d\d"))
        await expect(approve).to_be_visible()
        await screen(page, "03-confirm")
        await in_view_above_the_chat_input(page, r"Approve and pay")
        await in_view_above_the_chat_input(page, r"^Cancel$")
        assert len(await orders_of(alice)) == orders_before  # not yet

        await approve.click()
        await expect(page.get_by_text(re.compile("order number"))).to_be_visible()
        await expect(page.get_by_text(re.compile(r"placed: what happened"))).to_be_visible()
        await screen(page, "04-order-placed")
        orders = await orders_of(alice)
        assert len(orders) == orders_before + 1
        order = orders[0]
        await expect(page.get_by_text(re.compile(order["order_id"]))).to_be_visible()

        await page.get_by_text("Orders", exact=True).click()
        await expect(page.get_by_text(f"Order {order['order_id'][:8]}: Confirmed")).to_be_visible()
        await expect(page.get_by_role("cell", name="Order confirmed")).to_be_visible()
        await screen(page, "05-orders")

        await page.get_by_text("Notifications", exact=True).click()
        await expect(
            page.get_by_text(f"Order {order['order_id'][:8]} is confirmed").first
        ).to_be_visible()
        await screen(page, "06-messages")
