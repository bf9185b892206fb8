"""The web UI, run with Streamlit's own testing API against the real BFF of the test stack.

Each test drives `ui/app.py` as a person would (sign in, read the cart, the orders and the
messages, ask for a refund) and checks what the page shows. The app runs in a worker
thread because the stack's services share this test's event loop.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from streamlit.testing.v1 import AppTest

from commerce.contracts.values import FINAL_STATES
from commerce.services import SERVICES
from tests.conftest import ServiceStack
from tests.e2e.helpers import closing, empty_cart, orders_of, signed_in, start_checkout
from tests.e2e.helpers import run_app as run
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration

APP = Path(__file__).resolve().parents[2] / "ui" / "app.py"


def texts(app: AppTest) -> str:
    """Everything the page shows as text (markdown, alerts, captions, titles, tables)."""
    parts: list[str] = []
    for kind in (
        "title",
        "subheader",
        "markdown",
        "caption",
        "error",
        "warning",
        "info",
        "success",
    ):
        parts += [str(e.value) for e in getattr(app, kind)]
    for table in app.table:
        parts.append(table.value.to_string())
    return "\n".join(parts)


async def signed_in_app(email: str, password: str) -> AppTest:
    app = AppTest.from_file(str(APP), default_timeout=60)
    await run(app)
    app.text_input(key="email").input(email)
    app.text_input(key="password").input(password)
    button(app, "Sign in").click()
    return await run(app)


def button(app: AppTest, label: str) -> Any:
    found = [b for b in app.button if b.label == label or b.key == label]
    assert found, f"no button {label!r}; buttons: {[b.label for b in app.button]}"
    return found[0]


async def buy(client: httpx.AsyncClient, sku: str) -> dict[str, Any]:
    """A checkout through the BFF's REST routes (as the web client does); returns the order."""
    checkout_id = await start_checkout(client, sku)

    async def status() -> Any:
        return (await client.get(f"/v1/checkouts/{checkout_id}")).json()

    done = await eventually(status, lambda s: s.get("state") in FINAL_STATES, within=60)
    assert done["state"] == "completed", done
    return dict((await client.get(f"/v1/orders/{done['order_id']}")).json())


async def test_sign_in_refuses_a_wrong_password_and_lists_the_demo_accounts(
    stack: ServiceStack, bff_url: str
) -> None:
    await stack.ensure("gateway-bff")
    app = AppTest.from_file(str(APP), default_timeout=60)
    await run(app)
    shown = texts(app)
    assert "alice@example.com" in shown and "alice-demo-pass" in shown

    wrong = await signed_in_app("alice@example.com", "not-her-password")
    assert [e.value for e in wrong.error] == ["Wrong email or password."]
    assert "token" not in wrong.session_state

    alice = await signed_in_app("alice@example.com", "alice-demo-pass")
    assert not alice.exception and not alice.error
    assert "Signed in as **Alice Martin**" in [m.value for m in alice.sidebar.markdown]


async def test_cart_orders_timeline_refund_and_messages(stack: ServiceStack, bff_url: str) -> None:
    await stack.ensure(*SERVICES)
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        order = await buy(carla, "COF-HOUSE-340")
        await carla.post("/v1/cart/lines", json={"sku": "NB-A5-BLA", "quantity": 2})
        app = await signed_in_app("carla@example.com", "carla-demo-pass")
        # the cart panel shows what is in the cart now (the bought coffee was cleared)
        sidebar = "\n".join(m.value for m in app.sidebar.markdown)
        assert "2 x A5 Dotted Notebook, black" in sidebar, sidebar
        assert "House Blend" not in sidebar

        app.sidebar.radio(key="page").set_value("Orders")
        await run(app)
        assert not app.exception, app.exception
        shown = texts(app)
        short = order["order_id"][:8]  # the reference the emails use too
        assert f"Order {short}: Confirmed" in shown, shown
        # the order's steps in the shopper's words, the technical timeline behind a fold
        for step in ("Order received", "Items reserved", "Payment taken", "Order confirmed"):
            assert step in shown, step
        assert "Technical details (for support)" in [e.label for e in app.expander]
        assert "saga" not in shown

        app.text_input(key=f"refund-reason-{order['order_id']}").input("arrived damaged")
        app.checkbox(key=f"refund-all-{order['order_id']}").uncheck()
        app.number_input(key=f"refund-amount-{order['order_id']}").set_value(2.5)
        button(app, "Request refund").click()
        await run(app)
        assert [s.value for s in app.success] == [
            "Refund of $2.50 requested (Pending). You will get a message when it is done."
        ], texts(app)

        async def refunded() -> Any:
            return (await carla.get(f"/v1/orders/{order['order_id']}")).json()

        await eventually(refunded, lambda o: o["refunded_cents"] == 250, within=60)

        app.sidebar.radio(key="page").set_value("Notifications")
        await run(app)
        messages = app.table[0].value
        assert "Email" in set(messages["Channel"]) and "SMS" in set(messages["Channel"])
        assert any(f"Order {short} is confirmed" in body for body in messages["Message"])


async def test_a_service_down_is_said_in_a_sentence_and_the_rest_keeps_working(
    stack: ServiceStack, bff_url: str
) -> None:
    await stack.ensure(*SERVICES)
    app = await signed_in_app("bob@example.com", "bob-demo-pass")
    app.sidebar.radio(key="page").set_value("Orders")
    await stack.stop("order")
    try:
        await run(app)
        assert not app.exception
        assert [w.value for w in app.warning] == [
            "The order service is not answering; try again shortly. Press Retry to load your orders."
        ]
        assert "Your cart" in [h.value for h in app.sidebar.subheader]  # the cart still shows
    finally:
        await stack.ensure("order")
    button(app, "retry-your orders").click()
    await run(app)
    assert not app.warning and not app.exception


async def test_the_bff_away_is_said_in_a_sentence(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("GATEWAY_BFF_URL", f"http://127.0.0.1:{port}")
    app = await signed_in_app("alice@example.com", "alice-demo-pass")
    assert not app.exception
    assert [e.value for e in app.error] == [
        "The shop is not answering right now; please try again in a moment."
    ]


async def say(app: AppTest, text: str) -> AppTest:
    app.chat_input(key="prompt").set_value(text)
    return await run(app)


def chat(app: AppTest) -> list[tuple[str, str]]:
    return [(m.name, "\n".join(str(md.value) for md in m.markdown)) for m in app.chat_message]


def confirmation(app: AppTest) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """The plan table and the totals table of the confirmation card."""
    lines = app.table[0].value.to_dict("records")
    totals = {row[""]: row["Amount"] for row in app.table[1].value.to_dict("records")}
    return lines, totals


async def test_chat_shows_the_plan_and_approve_places_the_order(
    stack: ServiceStack, bff_url: str
) -> None:
    await stack.ensure(*SERVICES)
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    async with closing(alice):
        await empty_cart(alice)
        orders_before = len(await orders_of(alice))
        app = await signed_in_app("alice@example.com", "alice-demo-pass")
        button(app, "new-conversation").click()
        await run(app)
        await say(app, "two packs of AA batteries and a USB-C cable, under $30, ship home")
        assert not app.exception, app.exception
        assert chat(app)[-2] == (
            "user",
            r"two packs of AA batteries and a USB-C cable, under \$30, ship home",
        )
        assert "Please confirm this purchase" in [h.value for h in app.subheader]
        lines, totals = confirmation(app)
        assert [(li["Item"], li["Quantity"], li["Unit price"]) for li in lines] == [
            ("AA Alkaline Batteries, 4-pack", 2, "$4.99"),
            ("USB-C Cable, 1m, black", 1, "$7.99"),
        ]
        assert list(totals) == ["Subtotal", "Discount", "Tax", "Shipping", "Total", "Budget"]
        assert totals["Budget"] == "$30.00 (within budget)"
        total = totals["Total"]
        # the cart panel shows what the assistant put in the cart; nothing is bought yet
        sidebar = "\n".join(m.value for m in app.sidebar.markdown)
        assert "2 x AA Alkaline Batteries, 4-pack" in sidebar, sidebar
        assert len(await orders_of(alice)) == orders_before

        button(app, f"Approve and pay {total}").click()
        await run(app)
        assert not app.exception, app.exception
        assert "Please confirm this purchase" not in [h.value for h in app.subheader]
        reply = chat(app)[-1][1]
        assert "order number" in reply and total.replace("$", r"\$") in reply, chat(app)
        orders = await orders_of(alice)
        assert len(orders) == orders_before + 1 and orders[0]["order_id"] in reply
        assert "Empty." in [c.value for c in app.sidebar.caption]  # bought lines left the cart
        steps = app.table[0].value  # the finished checkout's steps under the chat
        assert "Order confirmed" in list(steps["What happened"])
        assert any(
            s.label.startswith(f"Order {orders[0]['order_id'][:8]} placed") for s in app.status
        )

        app.sidebar.radio(key="page").set_value("Orders")
        await run(app)
        assert f"Order {orders[0]['order_id'][:8]}: Confirmed" in texts(app)


async def test_cancel_buys_nothing_and_says_so(stack: ServiceStack, bff_url: str) -> None:
    await stack.ensure(*SERVICES)
    bob = await signed_in(stack, "bob@example.com", "bob-demo-pass")
    async with closing(bob):
        await empty_cart(bob)
        orders_before = await orders_of(bob)
        app = await signed_in_app("bob@example.com", "bob-demo-pass")
        button(app, "new-conversation").click()
        await run(app)
        await say(app, "buy 3 AAA batteries")
        lines, totals = confirmation(app)
        assert lines and lines[0]["Quantity"] == 3
        assert "Budget" not in totals  # no budget was given
        button(app, "cancel").click()
        await run(app)
        assert not app.exception, app.exception
        assert "Please confirm this purchase" not in [h.value for h in app.subheader]
        assert "did not place" in chat(app)[-1][1], chat(app)
        assert not any(b.key in ("approve", "cancel") for b in app.button)
        assert await orders_of(bob) == orders_before
        assert "Empty." in [c.value for c in app.sidebar.caption]


async def test_a_typed_yes_approves_and_the_conversation_survives_a_reload(
    stack: ServiceStack, bff_url: str
) -> None:
    await stack.ensure(*SERVICES)
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        await empty_cart(carla)
        app = await signed_in_app("carla@example.com", "carla-demo-pass")
        button(app, "new-conversation").click()
        await run(app)
        await say(app, "a USB-C cable")
        assert confirmation(app)[0][0]["Item"].startswith("USB-C Cable")
        await say(app, "yes")
        assert not app.exception, app.exception
        conversation = chat(app)
        assert "order number" in conversation[-1][1], conversation

        # a reload is a new browser session: signing in again brings the conversation back
        again = await signed_in_app("carla@example.com", "carla-demo-pass")
        assert chat(again) == conversation
        assert not any(b.key == "approve" for b in again.button)


async def test_a_running_checkout_is_followed_live(stack: ServiceStack, bff_url: str) -> None:
    await stack.ensure(*SERVICES)
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        await empty_cart(carla)
        app = await signed_in_app("carla@example.com", "carla-demo-pass")
        checkout_id = await start_checkout(carla, "NB-A5-BLA", "tok_slow")
        app.session_state["follow"] = checkout_id  # as after an approval the saga outlasts
        app.sidebar.radio(key="page").set_value("Orders")
        await run(app)
        assert not app.exception, app.exception
        status = (await carla.get(f"/v1/checkouts/{checkout_id}")).json()
        assert status["state"] == "completed"
        shown = texts(app)
        assert f"Order {status['order_id'][:8]}: Confirmed" in shown
        box = next(s for s in app.status if s.label == f"Order {status['order_id'][:8]} placed")
        live = [str(m.value) for m in box.markdown]
        assert any("Payment taken" in m for m in live) and "Order confirmed" in live[-1]


async def test_a_failed_checkout_says_why_and_shows_what_was_undone(
    stack: ServiceStack, bff_url: str
) -> None:
    await stack.ensure(*SERVICES)
    bob = await signed_in(stack, "bob@example.com", "bob-demo-pass")
    async with closing(bob):
        await empty_cart(bob)
        app = await signed_in_app("bob@example.com", "bob-demo-pass")
        app.session_state["follow"] = await start_checkout(bob, "NB-A5-BLA", "tok_declined")
        app.sidebar.radio(key="page").set_value("Orders")
        await run(app)
        assert not app.exception, app.exception
        box = next(s for s in app.status if s.label.startswith("Not bought"))
        assert box.label.startswith("Not bought: Your card was declined."), box.label
        steps = [str(m.value) for m in box.markdown]
        assert any("Payment declined" in s for s in steps), steps
        assert any("Items put back" in s for s in steps), steps
        # nothing was bought: the notebook is still in the cart
        assert "1 x A5 Dotted Notebook, black" in "\n".join(m.value for m in app.sidebar.markdown)


async def test_cancelling_an_order_in_chat_shows_it_first_and_keep_leaves_it(
    stack: ServiceStack, bff_url: str
) -> None:
    await stack.ensure(*SERVICES)
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        await empty_cart(carla)
        order = await buy(carla, "BAT-AAA-4")
        short = order["order_id"][:8]

        async def current() -> Any:
            return (await carla.get(f"/v1/orders/{order['order_id']}")).json()

        await eventually(current, lambda o: o["status"] == "confirmed")
        app = await signed_in_app("carla@example.com", "carla-demo-pass")
        button(app, "new-conversation").click()
        await run(app)
        await say(app, f"cancel my order {short}")
        assert not app.exception, app.exception
        assert f"Please confirm cancelling order {short}" in [h.value for h in app.subheader]
        total = f"${order['total_cents'] / 100:,.2f}"
        assert any(b.label == f"Cancel the order, refund {total}" for b in app.button)
        button(app, "Keep the order").click()
        await run(app)
        assert not app.exception, app.exception
        assert "as it is" in chat(app)[-1][1], chat(app)
        kept = await current()
        assert kept["status"] == "confirmed" and kept["refunded_cents"] == 0

        await say(app, f"cancel my order {short}")
        button(app, f"Cancel the order, refund {total}").click()
        await run(app)
        assert not app.exception, app.exception
        assert "cancelled" in chat(app)[-1][1], chat(app)
        done = await eventually(
            current, lambda o: o["refunded_cents"] == o["total_cents"], within=60
        )
        assert done["status"] == "cancelled"  # not "refunded"
        (refund,) = (await carla.get(f"/v1/orders/{order['order_id']}/refunds")).json()["items"]
        assert refund["cancels_order"] and refund["status"] == "succeeded"
        # the Orders page says Cancelled and what went back, not Refunded
        app.sidebar.radio(key="page").set_value("Orders")
        await run(app)
        assert not app.exception, app.exception
        assert f"Order {short}: Cancelled, {total} refunded" in texts(app), texts(app)


async def test_shop_without_the_chat_search_a_product_and_add_it_to_the_cart(
    stack: ServiceStack, bff_url: str
) -> None:
    await stack.ensure(*SERVICES)
    bob = await signed_in(stack, "bob@example.com", "bob-demo-pass")
    async with closing(bob):
        await bob.delete("/v1/cart/lines/CBL-USBC-2M-BLA")  # whatever an earlier test left
        app = await signed_in_app("bob@example.com", "bob-demo-pass")
        app.sidebar.radio(key="page").set_value("Shop")
        await run(app)
        assert not app.exception and not app.error, texts(app)
        assert "products" in texts(app)  # the first page of every department
        app.text_input(key="shop-q").input("usb c cable")
        await run(app)
        shown = texts(app)
        assert "USB-C Cable" in shown and "In stock" in shown and "★" in shown, shown
        assert "📱" in shown or "🔌" in shown  # a department's icon on the cards

        app.text_input(key="shop-q").input("grand piano")
        await run(app)
        shown = texts(app)
        assert "We don't carry “grand piano”. Nearest:" in shown and "Nearest products" in shown
        assert any(b.key and b.key.startswith("view-") for b in app.button), shown
        app.text_input(key="shop-q").input("usb c cable")
        await run(app)

        app.selectbox(key="shop-category").set_value("kitchen")
        await run(app)
        assert "Kitchen & Dining" in texts(app)
        app.selectbox(key="shop-category").set_value("")
        await run(app)

        button(app, "view-p-cable-usbc").click()
        await run(app)
        page = texts(app)
        assert "USB-C Cable" in page and r"\$7.99 to \$12.99" in page, page
        assert app.table and "USB-C Cable, 2m, black" in app.table[0].value.to_string()
        app.selectbox(key="variant-p-cable-usbc").set_value("CBL-USBC-2M-BLA")
        app.number_input(key="qty-p-cable-usbc").set_value(2)
        button(app, "add-to-cart").click()
        await run(app)
        assert not app.exception and not app.error, texts(app)
        assert any("Added 2 x USB-C Cable, 2m, black" in s.value for s in app.success), texts(app)
        sidebar = "\n".join(m.value for m in app.sidebar.markdown)
        assert "2 x USB-C Cable, 2m, black" in sidebar, sidebar
        cart = (await bob.get("/v1/cart")).json()
        assert any(
            line["sku"] == "CBL-USBC-2M-BLA" and line["quantity"] == 2 for line in cart["lines"]
        )
        await bob.delete("/v1/cart/lines/CBL-USBC-2M-BLA")

        button(app, "shop-back").click()
        await run(app)
        assert "Shop" in [t.value for t in app.title]
