"""plan_executor: runs a plan's steps through the BFF, one after another.

It stops at `confirm` until the confirmation node recorded an explicit yes for the exact
total, re-quotes right before `initiate_checkout` (the total must still be the approved
one and within the budget), starts the checkout through the BFF's outbox, and follows
the saga for a bounded time.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from langgraph.runtime import Runtime
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_fixed

from assistant.commerce import Commerce, CommerceError
from assistant.intents import Place
from assistant.nodes.clarification import STILL_WAITING
from assistant.plan import (
    AddToCartStep,
    ApplyCouponStep,
    CancelOrderStep,
    InitiateCheckoutStep,
    Plan,
    PriceLinesStep,
    RefundStep,
    RemoveFromCartStep,
    SetQuantityStep,
    money,
)
from assistant.schemas import Confirmation, ConfirmationLine, PlanStepPublic
from assistant.state import AssistantContext, AssistantState
from commerce.contracts.refunds import CANCELLATION_REASON
from commerce.contracts.values import FINAL_STATES

log = structlog.get_logger(__name__)

BUYING = ("checkout", "substitute")
UNDONE = {
    "payment_declined": "The items held for you were released; nothing was charged.",
    "order_failed": "Your payment was refunded and the items released.",
    "timeout": "Anything held or charged for it was undone.",
}


async def undo_cart(commerce: Commerce, undo: list[dict[str, Any]]) -> None:
    """Put the cart back the way it was before this plan (newest change first)."""
    for entry in reversed(undo):
        try:
            if entry["previous"]:
                await commerce.set_quantity(entry["sku"], entry["previous"])
            else:
                await commerce.remove_line(entry["sku"])
        except CommerceError as exc:
            log.warning("assistant.undo_failed", sku=entry["sku"], error=exc.message)


def cart_summary(lines: list[Any]) -> str:
    if not lines:
        return "Your cart is empty."
    rows = [
        f"- {li.quantity} x {li.name} ({li.sku}), {money(li.quantity * li.unit_price_cents)}"
        for li in lines
    ]
    total = sum(li.quantity * li.unit_price_cents for li in lines)
    return (
        "In your cart:\n" + "\n".join(rows) + f"\nSubtotal {money(total)} before tax and shipping."
    )


def build_confirmation(
    plan: Plan, quote: dict[str, Any], address: dict[str, Any], coupon: str | None
) -> Confirmation:
    totals = quote["totals"]
    return Confirmation(
        plan=[PlanStepPublic(**s) for s in plan.public()],
        lines=[
            ConfirmationLine(
                sku=li["sku"], name=li["name"], quantity=li["quantity"],
                unit_price_cents=li["unit_price_cents"],
                line_total_cents=li["quantity"] * li["unit_price_cents"],
            )
            for li in quote["lines"]
        ],
        subtotal_cents=totals["subtotal_cents"], discount_cents=totals["discount_cents"],
        tax_cents=totals["tax_cents"], shipping_cents=totals["shipping_cents"],
        total_cents=totals["total_cents"], budget_cents=plan.budget_cents, coupon_code=coupon,
        currency=totals.get("currency", "USD"), shipping_address=address, notes=plan.notes,
    )  # fmt: skip


def describe(confirmation: Confirmation) -> str:
    lines = "\n".join(
        f"- {li.quantity} x {li.name}: {money(li.line_total_cents)}" for li in confirmation.lines
    )
    parts = [f"Subtotal {money(confirmation.subtotal_cents)}"]
    if confirmation.discount_cents:
        parts.append(f"discount -{money(confirmation.discount_cents)}")
    parts += [
        f"tax {money(confirmation.tax_cents)}",
        f"shipping {money(confirmation.shipping_cents)}",
    ]
    budget = (
        f" (your budget: {money(confirmation.budget_cents)})"
        if confirmation.budget_cents is not None
        else ""
    )
    address = confirmation.shipping_address
    where = f"{address.get('line1')}, {address.get('city')}"
    notes = "".join(f"{n[0].upper()}{n[1:]}.\n" for n in confirmation.notes)
    return (
        f"{notes}Here is the order:\n{lines}\n{', '.join(parts)}.\n"
        f"Total {money(confirmation.total_cents)}{budget}, shipping to {where}, paid with your saved card.\n"
        "Shall I place it? (yes / no)"
    )


def quote_address(place: Place | None, saved: dict[str, Any]) -> dict[str, Any] | None:
    """The address a price question is quoted for: the place it names (tax goes by state,
    so a city and state or a ZIP code is enough), else the person's saved address."""
    if place is None:
        return saved or None
    return {
        "name": "Price quote", "line1": "Price quote only", "city": place.city or place.region,
        "region": place.region, "postal_code": place.postal_code or "-", "country": "US",
    }  # fmt: skip


def describe_price(step: PriceLinesStep, quote: dict[str, Any], notes: list[str]) -> str:
    """A price question's answer: each item, subtotal, discount, tax, shipping and total,
    and that nothing was bought or put in the cart."""
    totals = quote["totals"]
    where = step.ship_to.label() if step.ship_to else "your address"
    items = "\n".join(
        f"- {li['quantity']} x {li['name']}: {money(li['quantity'] * li['unit_price_cents'])}"
        for li in quote["lines"]
    )
    parts = [f"Subtotal {money(totals['subtotal_cents'])}"]
    if totals.get("discount_cents"):
        parts.append(f"discount -{money(totals['discount_cents'])}")
    parts += [f"tax {money(totals['tax_cents'])}", f"shipping {money(totals['shipping_cents'])}"]
    said = "".join(f"{n[0].upper()}{n[1:]}.\n" for n in notes)
    return (
        f"{said}Shipped to {where}:\n{items}\n{', '.join(parts)}.\n"
        f"Total {money(totals['total_cents'])}. That is a quote: nothing was bought or added to "
        "your cart. Say “buy …” to order it."
    )


def give_back_confirmation(plan: Plan) -> Confirmation:
    """What a refund or cancellation will do, for the person to approve: the order, the
    items and the amount going back to the card."""
    step = next(s for s in plan.steps if isinstance(s, RefundStep | CancelOrderStep))
    if isinstance(step, CancelOrderStep):
        action, amount, lines, notes = "cancel", step.amount_cents, [], []
    else:
        action, amount = "refund", step.estimate_cents
        lines = [
            ConfirmationLine(
                sku=li.sku, name=li.name, quantity=li.quantity,
                unit_price_cents=li.unit_price_cents,
                line_total_cents=li.quantity * li.unit_price_cents,
            )
            for li in step.lines
        ]  # fmt: skip
        notes = (
            ["the refund also returns the tax paid on these items, less any discount they had"]
            if step.lines
            else []
        )
    return Confirmation(
        action=action, order_id=step.order_id, plan=[PlanStepPublic(**s) for s in plan.public()],
        lines=lines, subtotal_cents=amount, discount_cents=0, tax_cents=0, shipping_cents=0,
        total_cents=amount, budget_cents=None, coupon_code=None, shipping_address={},
        notes=notes,
    )  # fmt: skip


def describe_give_back(plan: Plan, confirmation: Confirmation) -> str:
    order = (confirmation.order_id or "")[:8]
    amount = money(confirmation.total_cents)
    if confirmation.action == "cancel":
        head = f"I can cancel order {order} and refund {amount} to your card."
    elif confirmation.lines:
        items = ", ".join(f"{li.quantity} x {li.name}" for li in confirmation.lines)
        head = (
            f"I can return {items} from order {order}: {amount} back to your card "
            "(what you paid for them, tax included, less any discount)."
        )
    else:
        head = f"I can refund {amount} of order {order} to your card."
    what = "cancel it" if confirmation.action == "cancel" else "start the refund"
    return f"{head}\nShall I {what}? (yes / no)"


async def plan_executor(
    state: AssistantState, runtime: Runtime[AssistantContext]
) -> dict[str, Any]:
    context = runtime.context
    commerce = context.commerce
    raw = state.get("plan")
    if raw is None:
        return {"status": "idle"}
    plan = Plan.model_validate(raw)
    replies = list(state.get("replies", []))
    undo = list(state.get("cart_undo") or [])
    coupon = state.get("coupon_code") if plan.outcome in ("checkout", "substitute") else None
    address = state.get("address") or {}
    update: dict[str, Any] = {}

    def done(status: str = "idle", **more: Any) -> dict[str, Any]:
        emptied = plan.outcome == "cart_updated"  # an edit that left nothing to buy
        if (
            state.get("editing")
            and state.get("pending")
            and plan.outcome not in BUYING
            and not emptied
        ):
            # an answer or a refund in the middle: the purchase still awaits approval
            return {
                **update, "replies": [*replies, STILL_WAITING], "plan": None,
                "status": "awaiting_confirmation", **more,
            }  # fmt: skip
        return {
            **update, "replies": replies, "cart_undo": undo, "status": status, "plan": None,
            "pending": None, "approved_total_cents": None, **more,
        }  # fmt: skip

    cursor = state.get("cursor", 0)
    try:
        cart_before: dict[str, int] | None = None
        while cursor < len(plan.steps):
            step = plan.steps[cursor]
            match step:
                case AddToCartStep():
                    if cart_before is None:
                        cart_before = {li.sku: li.quantity for li in (await commerce.cart()).lines}
                    undo.append({"sku": step.sku, "previous": cart_before.get(step.sku, 0)})
                    cart = await commerce.add_line(step.sku, step.quantity)
                    cart_before = {li.sku: li.quantity for li in cart.lines}
                case SetQuantityStep() | RemoveFromCartStep():
                    current = {li.sku: li.quantity for li in (await commerce.cart()).lines}
                    undo.append({"sku": step.sku, "previous": current.get(step.sku, 0)})
                    if isinstance(step, SetQuantityStep):
                        await commerce.set_quantity(step.sku, step.quantity)
                    else:
                        await commerce.remove_line(step.sku)
                case ApplyCouponStep():
                    coupon = step.code
                case PriceLinesStep():
                    where = quote_address(step.ship_to, address)
                    if where is None:
                        replies.append(
                            "Tax and shipping depend on where it goes: tell me a city and state "
                            "or a ZIP code and I will work them out."
                        )
                    else:
                        try:
                            quote = await commerce.quote_lines(
                                [(li.sku, li.quantity) for li in step.lines], where
                            )
                        except CommerceError as exc:
                            if exc.status >= 500:
                                raise
                            place = step.ship_to.label() if step.ship_to else "your address"
                            replies.append(
                                f"I can't quote shipping to {place}: {exc.message} "
                                "Nothing was bought or added to your cart."
                            )
                        else:
                            replies.append(describe_price(step, quote, plan.notes))
                case _ if step.kind == "view_cart" and plan.outcome == "answer":
                    replies.append(cart_summary((await commerce.cart()).lines))
                case _ if step.kind == "quote":
                    try:
                        quote = await commerce.quote(address, coupon)
                    except CommerceError as exc:
                        await undo_cart(commerce, undo)
                        replies.append(
                            f"I could not price this: {exc.message} I put your cart back as it was."
                        )
                        return done(cart_undo=[])
                    confirmation = build_confirmation(plan, quote, address, coupon)
                    if (
                        plan.budget_cents is not None
                        and confirmation.total_cents > plan.budget_cents
                    ):
                        await undo_cart(commerce, undo)
                        replies.append(
                            f"With tax and shipping the total is {money(confirmation.total_cents)}, over your "
                            f"{money(plan.budget_cents)} budget, so I did not order it. I put your cart back as it was."
                        )
                        return done(cart_undo=[])
                    replies.append(describe(confirmation))
                    return {
                        **update, "replies": replies, "cart_undo": undo, "coupon_code": coupon,
                        "pending": confirmation.model_dump(mode="json"), "cursor": cursor + 1,
                        "pending_plan": raw, "pending_cursor": cursor + 1,
                        "status": "awaiting_confirmation", "approved_total_cents": None,
                        "editing": False, "last_items": [
                            {"sku": s.sku, "name": s.name, "quantity": s.quantity} for s in plan.adds
                        ],
                    }  # fmt: skip
                case _ if step.kind == "confirm" and plan.outcome in ("refund", "cancel"):
                    pending = state.get("pending")
                    approved = state.get("approved_total_cents")
                    if state.get("editing") and pending and pending.get("action") == "purchase":
                        replies.append(
                            "I can do that once the order waiting for approval is settled."
                        )
                        return done()
                    if (
                        pending is None
                        or approved is None
                        or approved != pending["total_cents"]
                        or pending.get("action") != plan.outcome
                    ):
                        confirmation = give_back_confirmation(plan)
                        replies.append(describe_give_back(plan, confirmation))
                        return {
                            **update, "replies": replies,
                            "pending": confirmation.model_dump(mode="json"), "cursor": cursor,
                            "pending_plan": raw, "pending_cursor": cursor,
                            "status": "awaiting_confirmation", "approved_total_cents": None,
                            "editing": False,
                        }  # fmt: skip
                case _ if step.kind == "confirm":
                    pending = state.get("pending")
                    approved = state.get("approved_total_cents")
                    if pending is None or approved is None or approved != pending["total_cents"]:
                        # never past this point without the person's yes for this exact total
                        return {
                            **update,
                            "replies": replies,
                            "cursor": cursor,
                            "status": "awaiting_confirmation",
                        }
                case InitiateCheckoutStep():
                    pending = state.get("pending") or {}
                    approved = state.get("approved_total_cents")
                    fresh = build_confirmation(
                        plan, await commerce.quote(address, coupon), address, coupon
                    )
                    budget = plan.budget_cents
                    if approved is None or fresh.total_cents != approved:
                        replies.append(
                            f"The total changed to {money(fresh.total_cents)} since you approved it. "
                            + describe(fresh)
                        )
                        return {
                            **update, "replies": replies, "pending": fresh.model_dump(mode="json"),
                            "cursor": cursor - 1, "approved_total_cents": None,
                            "pending_plan": raw, "pending_cursor": cursor - 1,
                            "status": "awaiting_confirmation",
                        }  # fmt: skip
                    if budget is not None and fresh.total_cents > budget:
                        await undo_cart(commerce, undo)
                        replies.append(
                            f"The total {money(fresh.total_cents)} is over your {money(budget)} budget; I did not order it."
                        )
                        return done(cart_undo=[])
                    checkout_id = await commerce.start_checkout(
                        pending.get("shipping_address") or address,
                        coupon,
                        step.payment_token,
                        approved,
                    )
                    log.info(
                        "assistant.checkout_started", checkout_id=checkout_id, total_cents=approved
                    )
                    update["checkout_id"] = checkout_id
                    undo = []  # the cart now belongs to the checkout
                case _ if step.kind == "track_checkout":
                    tracked = str(update.get("checkout_id") or state.get("checkout_id"))
                    message, status = await follow(commerce, tracked, context)
                    replies.append(message)
                    return done(status)
                case CancelOrderStep():
                    refund = await _refund(
                        commerce, step.order_id, CANCELLATION_REASON,
                        idempotency_key=f"cancel-{step.order_id}", cancels_order=True,
                    )  # fmt: skip
                    replies.append(
                        f"I cancelled order {step.order_id[:8]}; {money(refund['amount_cents'])} is on its way back to your card."
                    )
                case RefundStep():
                    refund = await _refund(
                        commerce, step.order_id, step.reason,
                        lines=[{"sku": li.sku, "quantity": li.quantity} for li in step.lines] or None,
                        amount_cents=step.amount_cents,
                    )  # fmt: skip
                    replies.append(
                        f"{step.description.replace('Return', 'I started a return of', 1)}: "
                        f"{money(refund['amount_cents'])} will go back to your card once the payment provider confirms."
                        if step.lines
                        else f"I asked for a refund of {money(refund['amount_cents'])} on order {step.order_id[:8]}; "
                        "it goes back to your card once the payment provider confirms."
                    )
                case _:
                    pass
            cursor += 1
    except CommerceError as exc:
        log.warning("assistant.step_failed", code=exc.code, error=exc.message)
        if plan.outcome in ("checkout", "substitute") and not update.get("checkout_id"):
            await undo_cart(commerce, undo)
            undo = []
        replies.append(f"That did not work: {exc.message}")
        return done()
    if plan.outcome in ("answer",) and plan.message:
        replies.append(plan.message)
    if plan.outcome == "cart_updated":
        try:
            summary = "\n" + cart_summary((await commerce.cart()).lines)
        except CommerceError:
            summary = ""
        replies.append(plan.message + summary)
        # what the person put in their cart stays there: a later "no" to a purchase puts
        # back only what that purchase added
        return done(
            cart_undo=[] if not state.get("pending") else undo,
            last_items=[{"sku": s.sku, "name": s.name, "quantity": s.quantity} for s in plan.adds],
        )
    return done()


async def _refund(commerce: Commerce, order_id: str, reason: str, **kwargs: Any) -> dict[str, Any]:
    """A refund; the refund service learns of a new order from the saga's completion event,
    so right after a purchase it may not know the order yet: wait a little for it."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(lambda exc: isinstance(exc, CommerceError) and exc.status == 404),
        stop=stop_after_attempt(10),
        wait=wait_fixed(0.3),
        reraise=True,
    )
    result: dict[str, Any] = await retrying(commerce.refund, order_id, reason, **kwargs)
    return result


async def follow(
    commerce: Commerce, checkout_id: str, context: AssistantContext
) -> tuple[str, str]:
    """The saga's outcome in plain words, waiting at most `context.wait_seconds`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + context.wait_seconds
    status: dict[str, Any] = {}
    while True:
        try:  # a long poll: answered when the saga changes, so no sleep between asks
            status = await commerce.checkout(checkout_id, wait=max(deadline - loop.time(), 0))
        except CommerceError as exc:
            log.warning("assistant.track_failed", error=exc.message)
            await asyncio.sleep(context.poll_seconds)  # refused at once: ask again later
        if status.get("state") in FINAL_STATES or loop.time() >= deadline:
            break
    return outcome_message(status, checkout_id)


def outcome_message(status: dict[str, Any], checkout_id: str) -> tuple[str, str]:
    state = status.get("state")
    if state == "completed":
        order = str(status.get("order_id") or "")
        total = (status.get("totals") or {}).get("total_cents")
        paid = f" You paid {money(total)}." if total is not None else ""
        return f"Your order {order[:8]} is placed (order number {order}).{paid}", "completed"
    if state == "failed":
        reason = status.get("reason") or "The checkout could not be completed."
        undone = UNDONE.get(status.get("code") or "", "")
        if "charged" in reason.lower() or not undone:
            undone = undone if "charged" not in reason.lower() else ""
        if not undone and "charged" not in reason.lower():
            undone = "Nothing was charged."
        return f"The order did not go through: {reason} {undone}".strip(), "failed"
    return (
        f"Your checkout {checkout_id[:8]} is still being processed; I will post the outcome here.",
        "checking_out",
    )
