"""agentshop's web UI: sign in, browse and search the shop, chat with the assistant,
approve purchases, follow orders.

Run with `agentshop up` (everything) or `agentshop serve ui` (this app only). It talks to
the gateway BFF only (`ui.client`), whose address comes from `GATEWAY_BFF_URL` or the
BFF's port plus AGENTSHOP_PORT_OFFSET.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import tzinfo
from typing import Any

import streamlit as st
import structlog

from ui import format as fmt
from ui.client import BffClient, BffError, BffUnavailable, SignedOut, demo_users

log = structlog.get_logger(__name__)

PAGES = ("Assistant", "Shop", "Orders", "Notifications", "Account")
PAGE_SIZE = 24
SORTS = {
    "relevance": "Best match",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
    "name": "Name",
}
PROMPT_HINT = "Ask for something, e.g. two packs of AA batteries and a USB-C cable under $30"
UNEXPECTED = "Something went wrong on our side. Please try again; your cart and orders are safe."


# -- session --------------------------------------------------------------------------


def state() -> Any:
    return st.session_state


def person_tz() -> tzinfo:
    """The time zone of the person's browser (UTC until the browser has said)."""
    return fmt.zone(st.context.timezone)


def client() -> BffClient:
    return BffClient(token=state().get("token"))


def sign_out(reason: str | None = None) -> None:
    for key in list(state().keys()):
        del state()[key]
    if reason:
        state()["notice"] = reason


@contextlib.contextmanager
def shown_errors(what: str) -> Iterator[None]:
    """Show a failure inside one panel as a sentence; the rest of the page keeps working."""
    try:
        yield
    except SignedOut:
        raise
    except BffUnavailable as exc:
        st.warning(f"{exc.message} Press Retry to load {what}.", icon="⏳")
        st.button("Retry", key=f"retry-{what}")
    except BffError as exc:
        st.error(exc.message)
    except Exception:
        log.exception("ui.panel_failed", panel=what)
        st.error(UNEXPECTED)


# -- sign in --------------------------------------------------------------------------


def sign_in_page() -> None:
    st.title("agentshop")
    st.write("Your shopping assistant: say what you need, check the price, approve, done.")
    if notice := state().pop("notice", None):
        st.info(notice)
    with st.form("sign-in"):
        email = st.text_input("Email", key="email", placeholder="you@example.com")
        password = st.text_input("Password", type="password", key="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        bff = BffClient()
        try:
            token = bff.sign_in(email, password)
            state()["token"] = token["access_token"]
            state()["user"] = bff.me()
        except BffError as exc:
            st.error(exc.message)
            return
        log.info("ui.signed_in", user_id=token["user_id"])
        st.rerun()
    users = demo_users()
    if users:
        st.caption("Demo accounts (development only)")
        st.table([{"Email": u.email, "Password": u.password, "Name": u.name} for u in users])


# -- the assistant ----------------------------------------------------------------------


def load_conversation(bff: BffClient, conversation_id: str | None) -> None:
    """Show a stored conversation (or a new, empty one)."""
    state()["conversation_id"] = conversation_id
    state()["messages"] = []
    state()["pending"] = None
    state()["checkout_id"] = None
    if conversation_id is None:
        return
    found = bff.conversation(conversation_id)
    state()["messages"] = list(found.get("messages", []))
    state()["pending"] = found.get("pending")
    state()["checkout_id"] = found.get("checkout_id")
    if found.get("state") == "checking_out" and found.get("checkout_id"):
        state()["follow"] = found["checkout_id"]  # a checkout still running: show it live


def ensure_history(bff: BffClient) -> None:
    """On first view after signing in: the person's newest conversation, kept by the BFF."""
    if state().get("history_loaded"):
        return
    conversations = bff.conversations()
    state()["conversations"] = conversations
    load_conversation(bff, conversations[0]["conversation_id"] if conversations else None)
    state()["history_loaded"] = True


def apply_turn(turn: dict[str, Any]) -> list[dict[str, Any]]:
    """Record an AssistantTurn; returns its new assistant messages."""
    state()["conversation_id"] = turn["conversation_id"]
    new = list(turn.get("messages", []))
    state()["messages"] = [*state().get("messages", []), *new]
    state()["pending"] = turn.get("pending")
    if turn.get("checkout_id"):
        state()["checkout_id"] = turn["checkout_id"]
    if turn.get("state") == "checking_out" and turn.get("checkout_id"):
        state()["follow"] = turn["checkout_id"]
    state()["cart_stale"] = True
    return new


def reveal(text: str) -> Iterator[str]:
    """An assistant reply word by word, as it is read."""
    for word in text.split(" "):
        yield word + " "


def conversation_picker(bff: BffClient) -> None:
    with st.sidebar.expander("Conversations"):
        if st.button("New conversation", key="new-conversation", width="stretch"):
            load_conversation(bff, None)
            st.rerun()
        items = state().get("conversations") or []
        for item in items[:10]:
            title = item.get("title") or "Untitled"
            label = f"{fmt.title(title)} · {fmt.when(item.get('updated_at'), person_tz())}"
            if st.button(label, key=f"conv-{item['conversation_id']}", help=title, width="stretch"):
                load_conversation(bff, item["conversation_id"])
                st.rerun()


def assistant_page(bff: BffClient) -> None:
    st.title("Shopping assistant")
    try:
        ensure_history(bff)
        conversation_picker(bff)
    except BffError as exc:
        if exc.status != 404 or exc.code == "not_found":
            raise
        st.warning("The assistant is not available on this server yet; orders and messages are.")
        return
    messages = state().get("messages", [])
    if not messages:
        with st.chat_message("assistant"):
            st.markdown(
                fmt.md(
                    "Hello! Tell me what you need, with a budget if you have one. "
                    "I show you the full price and buy nothing until you approve."
                )
            )
    for message in messages:
        with st.chat_message("user" if message["role"] == "user" else "assistant"):
            st.markdown(fmt.chat(message["text"]))

    if state().get("follow"):
        follow_checkout(bff, state()["follow"])
    elif state().get("checkout_id"):
        with shown_errors("the checkout steps"):
            checkout_steps(bff, state()["checkout_id"])
    if state().get("pending"):
        confirmation(bff, state()["pending"])

    prompt = st.chat_input(PROMPT_HINT, max_chars=2000, key="prompt")
    if prompt and prompt.strip():
        ask(bff, prompt.strip())


def ask(bff: BffClient, text: str) -> None:
    with st.chat_message("user"):
        st.markdown(fmt.md(text))
    with st.chat_message("assistant"):
        try:
            with st.spinner("Thinking…"):
                turn = bff.send_message(state().get("conversation_id"), text)
        except SignedOut:
            raise
        except BffUnavailable as exc:
            st.warning(f"{exc.message} {_was_it_sent(bff, text)}")
            return
        except BffError as exc:
            st.error(exc.message)
            return
        state()["messages"] = [
            *state().get("messages", []),
            {"role": "user", "text": text, "at": ""},
        ]
        for message in apply_turn(turn):
            st.write_stream(reveal(fmt.chat(message["text"])))
    state()["conversations_stale"] = True
    st.rerun()


def _was_it_sent(bff: BffClient, text: str) -> str:
    """What became of a message whose answer did not come back, as far as the BFF says."""
    conversation_id = state().get("conversation_id")
    if conversation_id:
        try:
            found = bff.conversation(conversation_id)
        except BffError:
            found = None
        if found is not None:
            said = [m for m in found.get("messages", []) if m.get("role") == "user"]
            if said and said[-1].get("text") == text:
                load_conversation(bff, conversation_id)
                return "Your message arrived; its answer will show here when you reload the page."
            return "Your message was not sent; please send it again."
    return (
        "We could not tell whether your message arrived: look under Conversations in the "
        "sidebar before sending it again."
    )


def confirmation(bff: BffClient, pending: dict[str, Any]) -> None:
    """The plan waiting for approval (a purchase, a refund or a cancellation), with
    Approve and Cancel."""
    action = str(pending.get("action") or "purchase")
    total = fmt.money(pending.get("total_cents"), str(pending.get("currency", "USD")))
    with st.container(border=True, key="confirmation"):
        if action == "purchase":
            st.subheader("Please confirm this purchase")
        else:
            order = str(pending.get("order_id") or "")[:8]
            what = "cancelling order" if action == "cancel" else "a refund on order"
            st.subheader(f"Please confirm {what} {order}")
        # the decision first, so it is in view without scrolling; the details follow
        approve_col, cancel_col = st.columns(2)
        label = {
            "purchase": f"Approve and pay {total}",
            "refund": f"Approve the refund of {total}",
            "cancel": f"Cancel the order, refund {total}",
        }.get(action, f"Approve {total}")
        approve = approve_col.button(label, key="approve", type="primary", width="stretch")
        cancel = cancel_col.button(
            "Cancel" if action == "purchase" else "Keep the order", key="cancel", width="stretch"
        )
        st.caption(
            "Nothing is bought until you approve (or type “yes”)."
            if action == "purchase"
            else "Your order stays as it is until you approve (or type “yes”)."
        )
        if pending.get("lines"):
            st.table(fmt.plan_lines(pending))
        if action == "purchase":
            st.table(fmt.plan_totals(pending))
        else:
            st.markdown(fmt.md(f"**Back to your card:** {total}"))
        for note in pending.get("notes") or []:
            st.info(fmt.md(note))
        ship_to = fmt.address(pending.get("shipping_address"))
        if ship_to:
            st.markdown(fmt.md(f"**Ship to:** {ship_to}"))
        steps = pending.get("plan") or []
        if steps:
            with st.expander("What happens when you approve"):
                for number, item in enumerate(steps, 1):
                    st.markdown(fmt.md(f"{number}. {item['description']}"))
    if approve or cancel:
        decide(bff, approve=bool(approve), action=action)


WORKING = {
    "purchase": "Placing your order…",
    "refund": "Starting the refund…",
    "cancel": "Cancelling the order…",
}


def decide(bff: BffClient, *, approve: bool, action: str = "purchase") -> None:
    conversation_id = state().get("conversation_id")
    if not conversation_id:
        return
    try:
        with st.spinner(WORKING.get(action, "Working…") if approve else "Cancelling…"):
            turn = bff.confirm(conversation_id, approve)
    except SignedOut:
        raise
    except BffError as exc:
        st.error(exc.message)
        if exc.status == 409:  # nothing awaits confirmation any more: show what the BFF has
            with contextlib.suppress(BffError):
                load_conversation(bff, conversation_id)
        return
    apply_turn(turn)
    state()["conversations_stale"] = True
    st.rerun()


def follow_checkout(bff: BffClient, checkout_id: str, *, rerun: bool = True) -> None:
    """The saga's steps as they happen, until it completes or fails; then the page is
    drawn again (`rerun`) to show the assistant's outcome message."""
    outcome = None
    with st.status("Checking out…", expanded=True) as box:
        try:
            for entry in bff.stream(checkout_id):
                row = fmt.progress(entry, person_tz())
                if row is not None:
                    detail = f" — {row['Detail']}" if row["Detail"] else ""
                    box.write(fmt.md(f"{row['When']} · {row['What happened']}{detail}"))
                if entry.get("type") in fmt.TERMINAL:
                    outcome = entry
        except BffError as exc:
            box.update(label=exc.message, state="error")
            return
        if outcome is None:
            box.update(label="Still checking out; see Orders for progress.", state="running")
        elif outcome["type"] == "CheckoutCompleted":
            order_id = str((outcome.get("payload") or {}).get("order_id", ""))
            box.update(label=f"Order {fmt.short_id(order_id)} placed", state="complete")
        else:
            reason = (outcome.get("payload") or {}).get("reason") or "the checkout failed"
            box.update(label=f"Not bought: {reason}", state="error")
    state()["follow"] = None
    state()["cart_stale"] = True
    conversation_id = state().get("conversation_id")
    if conversation_id:  # the outcome message the assistant added meanwhile
        with contextlib.suppress(BffError):
            load_conversation(bff, conversation_id)
    if rerun:
        st.rerun()


def checkout_steps(bff: BffClient, checkout_id: str) -> None:
    """The finished checkout of this conversation, folded: what the saga did, step by step."""
    entries = bff.timeline(checkout_id)
    ends = [e for e in entries if e.get("type") in fmt.TERMINAL]
    last = ends[-1] if ends else {}
    if last.get("type") == "CheckoutCompleted":
        order_id = str((last.get("payload") or {}).get("order_id", ""))
        label, status = f"Order {fmt.short_id(order_id)} placed: what happened", "complete"
    elif last.get("type") == "CheckoutFailed":
        label, status = "Not bought: what happened", "error"
    else:
        label, status = "Your order is on its way through", "running"
    with st.status(label, expanded=False, state=status):  # type: ignore[arg-type]
        progress_and_details(entries)


def progress_and_details(entries: list[dict[str, Any]]) -> None:
    """The order's steps in the shopper's words; the technical timeline behind a fold."""
    tz = person_tz()
    st.table([row for e in entries if (row := fmt.progress(e, tz)) is not None])
    with st.expander("Technical details (for support)"):
        st.table([fmt.step(e, tz) for e in entries])


# -- cart ----------------------------------------------------------------------------------


def cart_panel(bff: BffClient) -> None:
    with st.sidebar:
        st.subheader("Your cart")
        with shown_errors("the cart"):
            cart = bff.cart()
            state()["cart_stale"] = False
            lines = cart.get("lines", [])
            if not lines:
                st.caption("Empty.")
                return
            for line in lines:
                total = fmt.money(line["unit_price_cents"] * line["quantity"], cart["currency"])
                st.markdown(fmt.md(f"{line['quantity']} x {line['name']} — {total}"))
            st.markdown(
                fmt.md(
                    f"**Subtotal: {fmt.money(cart['subtotal_cents'], cart['currency'])}** "
                    f"({cart['item_count']} item{'' if cart['item_count'] == 1 else 's'})"
                )
            )


# -- shop -----------------------------------------------------------------------------------


def shop_page(bff: BffClient) -> None:
    """Browse and search the catalog as product cards; a card opens its product page."""
    chosen = state().get("product_id")
    if chosen:
        product_page(bff, str(chosen))
        return
    st.title("Shop")
    search, department, order = st.columns([3, 2, 1])
    q = search.text_input(
        "Search", key="shop-q", placeholder="e.g. travel mug, AA batteries, running shoes"
    )
    categories = ["", *fmt.DEPARTMENTS]
    category = department.selectbox(
        "Department", categories, key="shop-category",
        format_func=lambda c: fmt.department(c) if c else "All departments",
    )  # fmt: skip
    sort = order.selectbox("Sort", list(SORTS), key="shop-sort", format_func=SORTS.__getitem__)
    asked = (q, category, sort)
    if state().get("shop-asked") != asked:  # a new search starts on its first page
        state()["shop-asked"], state()["shop-offset"] = asked, 0
    offset = int(state().get("shop-offset", 0))
    with shown_errors("the products"):
        page = bff.products(q, category=category or None, sort=sort, limit=PAGE_SIZE, offset=offset)
        items, total = page.get("items", []), int(page.get("total", 0))
        said = fmt.verdict(q.strip(), page)
        if page.get("match") == "none":  # the shop does not carry it: what comes closest
            st.warning(fmt.md(said or ""))
            nearest = page.get("nearest", [])
            if nearest:
                st.caption("Nearest products")
                product_cards(nearest)
            return
        if not items:
            st.info("Nothing matches that. Try other words or another department.")
            return
        if said:
            st.info(fmt.md(said))
        st.caption(f"{offset + 1}-{offset + len(items)} of {total:,} products")
        product_cards(items)
        back, _, forward = st.columns([1, 4, 1])
        if offset > 0 and back.button("◀ Previous", key="shop-previous"):
            state()["shop-offset"] = max(0, offset - PAGE_SIZE)
            st.rerun()
        if offset + len(items) < total and forward.button("Next ▶", key="shop-next"):
            state()["shop-offset"] = offset + PAGE_SIZE
            st.rerun()


def product_cards(products: list[dict[str, Any]]) -> None:
    for start in range(0, len(products), 3):
        for column, product in zip(st.columns(3), products[start : start + 3], strict=False):
            with column:
                product_card(product)


def product_card(product: dict[str, Any]) -> None:
    with st.container(border=True):
        st.markdown(f"### {fmt.icon(product['category'])}")
        st.markdown(fmt.md(f"**{product['name']}**"))
        st.caption(f"{product['brand']} · {fmt.department(product['category'])}")
        st.markdown(fmt.md(f"{fmt.price_range(product)} · {fmt.product_stock(product)}"))
        st.caption(fmt.rating(product.get("rating"), product.get("review_count")))
        if st.button("View", key=f"view-{product['product_id']}"):
            state()["product_id"] = product["product_id"]
            st.rerun()


def product_page(bff: BffClient, product_id: str) -> None:
    """One product with its variants: pick one, choose how many, add it to the cart."""
    if st.button("◀ Back to the shop", key="shop-back"):
        state().pop("product_id", None)
        st.rerun()
    with shown_errors("the product"):
        product = bff.product(product_id)
        currency = str(product.get("currency", "USD"))
        st.title(f"{fmt.icon(product['category'])} {product['name']}")
        st.caption(f"{product['brand']} · {fmt.department(product['category'])}")
        st.markdown(
            fmt.md(
                f"**{fmt.price_range(product)}** · {fmt.rating(product.get('rating'), product.get('review_count'))}"
            )
        )
        st.markdown(fmt.md(product.get("description", "")))
        details = fmt.attributes(product.get("attributes", {}))
        if details:
            st.caption(details)
        variants = product.get("variants", [])
        st.table(
            [
                {"Option": v["name"], "Price": fmt.money(v["price_cents"], currency),
                 "Stock": fmt.stock(v.get("available"))}
                for v in variants
            ]
        )  # fmt: skip
        if not variants:
            return
        by_sku = {v["sku"]: v for v in variants}
        sku = st.selectbox(
            "Option", list(by_sku), key=f"variant-{product_id}",
            format_func=lambda s: fmt.variant_label(by_sku[s], currency),
        )  # fmt: skip
        quantity = st.number_input(
            "Quantity", min_value=1, max_value=1000, value=1, step=1, key=f"qty-{product_id}"
        )
        available = by_sku[sku].get("available")
        if available is not None and available <= 0:
            st.caption(
                "This option is out of stock; pick another or ask the assistant for something similar."
            )
        if st.button(
            "Add to cart", key="add-to-cart", disabled=available is not None and available <= 0
        ):
            cart = bff.add_line(sku, int(quantity))
            state()["cart_stale"] = True
            st.success(
                fmt.md(f"Added {int(quantity)} x {by_sku[sku]['name']}. "
                       f"Cart subtotal: {fmt.money(cart.get('subtotal_cents'), currency)}.")
            )  # fmt: skip


# -- orders ---------------------------------------------------------------------------------


def orders_page(bff: BffClient) -> None:
    st.title("Your orders")
    running = state().get("follow")
    if running:
        st.subheader("Checkout in progress")
        follow_checkout(bff, running, rerun=False)
    with shown_errors("your orders"):
        orders = bff.orders()
        if not orders:
            st.info("No orders yet. Ask the assistant for something to buy.")
            return
        st.table(
            [
                {
                    "Order": fmt.short_id(str(o["order_id"])),
                    "Placed": fmt.when(o["created_at"], person_tz()),
                    "Status": fmt.order_status(o),
                    "Total": fmt.money(o["total_cents"], o["currency"]),
                    "Refunded": fmt.money(o["refunded_cents"], o["currency"])
                    if o["refunded_cents"]
                    else "",
                }
                for o in orders
            ]
        )
        labels = {
            str(o["order_id"]): f"Order {fmt.short_id(str(o['order_id']))} · "
            f"{fmt.when(o['created_at'], person_tz())} · {fmt.money(o['total_cents'], o['currency'])}"
            for o in orders
        }
        chosen = st.selectbox(
            "Order details", list(labels), format_func=labels.__getitem__, key="order"
        )
        if chosen:
            order_detail(bff, chosen)


def order_detail(bff: BffClient, order_id: str) -> None:
    order = bff.order(order_id)
    currency = order["currency"]
    status = fmt.order_status(order)
    st.subheader(f"Order {fmt.short_id(order_id)}: {status}")
    st.table(
        [
            {
                "Item": li["name"],
                "Quantity": li["quantity"],
                "Unit price": fmt.money(li["unit_price_cents"], currency),
                "Line total": fmt.money(li["unit_price_cents"] * li["quantity"], currency),
            }
            for li in order["lines"]
        ]
    )
    totals = {
        "Subtotal": order["subtotal_cents"],
        "Discount": -order["discount_cents"],
        "Tax": order["tax_cents"],
        "Shipping": order["shipping_cents"],
        "Total": order["total_cents"],
        "Refunded": order["refunded_cents"],
    }
    st.markdown(
        fmt.md(
            " · ".join(
                f"{name}: **{fmt.money(value, currency)}**" for name, value in totals.items()
            )
        )
    )
    st.caption(fmt.md(f"Ship to: {fmt.address(order.get('shipping_address'))}"))
    st.markdown("**Status history**")
    st.table(
        [
            {
                "When": fmt.when(h["at"], person_tz()),
                "Status": fmt.status_label(h["to_status"]),
                "Why": h["reason"] or "",
            }
            for h in order.get("history", [])
        ]
    )
    with shown_errors("the order's progress"):
        st.markdown("**What happened**")
        progress_and_details(bff.timeline(str(order["checkout_id"])))
    refund_form(bff, order)


def refund_form(bff: BffClient, order: dict[str, Any]) -> None:
    order_id = str(order["order_id"])
    refundable = order["total_cents"] - order["refunded_cents"]
    if refundable <= 0:
        st.caption("This order has been refunded in full.")
        return
    with st.expander("Request a refund"), st.form(f"refund-{order_id}", clear_on_submit=True):
        reason = st.text_input("Why?", key=f"refund-reason-{order_id}", max_chars=500)
        whole = st.checkbox(
            f"Refund everything left ({fmt.money(refundable, order['currency'])})",
            value=True,
            key=f"refund-all-{order_id}",
        )
        amount = st.number_input(
            "Or this amount (dollars)",
            min_value=0.0,
            max_value=refundable / 100,
            step=1.0,
            key=f"refund-amount-{order_id}",
        )
        submitted = st.form_submit_button("Request refund")
    if not submitted:
        return
    if not reason.strip():
        st.error("Please say why you want a refund.")
        return
    amount_cents = None if whole else round(amount * 100)
    if amount_cents == 0:
        st.error("Please enter an amount above zero, or refund everything.")
        return
    try:
        refund = bff.refund(order_id, reason.strip(), amount_cents, key=str(uuid.uuid4()))
    except BffError as exc:
        st.error(exc.message)
        return
    st.success(
        f"Refund of {fmt.money(refund['amount_cents'], refund['currency'])} requested "
        f"({fmt.status_label(refund['status'])}). You will get a message when it is done."
    )


# -- notifications ---------------------------------------------------------------------------


def notifications_page(bff: BffClient) -> None:
    st.title("Messages we sent you")
    with shown_errors("your messages"):
        items = bff.notifications()
        if not items:
            st.info("No messages yet.")
            return
        st.table(
            [
                {
                    "When": fmt.when(n["created_at"], person_tz()),
                    "Channel": n["channel"].upper()
                    if n["channel"] == "sms"
                    else n["channel"].capitalize(),
                    "To": n.get("recipient", ""),
                    "Subject": n.get("subject", ""),
                    "Message": n.get("body", ""),
                    "Status": n.get("status", ""),
                }
                for n in items
            ]
        )


# -- account -----------------------------------------------------------------------------------

ADDRESS_FIELDS = (
    ("name", "Name"), ("line1", "Address"), ("line2", "Apartment, suite (optional)"),
    ("city", "City"), ("region", "State or region code (e.g. OR)"),
    ("postal_code", "Postal code"), ("country", "Country code (e.g. US)"),
)  # fmt: skip


def account_page(bff: BffClient) -> None:
    """Who is signed in, and the home address checkouts ship to, which they can change."""
    st.title("Your account")
    with shown_errors("your account"):
        user = bff.me()
        st.markdown(fmt.md(f"**{user['name']}** · {user['email']}"))
        home = user.get("address") or {}
        st.caption(fmt.md(f"Ships to: {fmt.address(home)}" if home else "No home address yet."))
        with st.form("address", clear_on_submit=False):
            st.subheader("Home address")
            given = {
                field: st.text_input(
                    label, value=str(home.get(field) or ""), key=f"address-{field}"
                )
                for field, label in ADDRESS_FIELDS
            }
            submitted = st.form_submit_button("Save address", type="primary")
        if not submitted:
            return
        address = {field: value.strip() for field, value in given.items() if value.strip()}
        if "country" in address:
            address["country"] = address["country"].upper()
        if "region" in address:
            address["region"] = address["region"].upper()
        try:
            state()["user"] = bff.set_address(address)
        except BffError as exc:
            st.error(exc.message)
            return
        st.success(
            fmt.md(f"Saved. Checkouts now ship to {fmt.address(state()['user']['address'])}.")
        )


# -- the app ---------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="agentshop", page_icon="🛒", layout="wide")
    try:
        if not state().get("token"):
            sign_in_page()
            return
        bff = client()
        user = state().get("user") or {}
        st.sidebar.markdown(f"Signed in as **{user.get('name') or user.get('email', '')}**")
        page = st.sidebar.radio("Go to", PAGES, key="page")
        if st.sidebar.button("Sign out", key="sign-out"):
            sign_out("You are signed out.")
            st.rerun()
        if state().pop("conversations_stale", False):
            with contextlib.suppress(BffError):
                state()["conversations"] = bff.conversations()
        if page == "Shop":
            shop_page(bff)
        elif page == "Orders":
            orders_page(bff)
        elif page == "Notifications":
            notifications_page(bff)
        elif page == "Account":
            account_page(bff)
        else:
            assistant_page(bff)
        cart_panel(bff)
    except SignedOut as exc:
        sign_out(exc.message)
        st.rerun()
    except BffUnavailable as exc:
        st.warning(exc.message, icon="⏳")
        st.button("Retry", key="retry-page")
    except BffError as exc:
        st.error(exc.message)
    except Exception:
        log.exception("ui.page_failed")
        st.error(UNEXPECTED)


main()
