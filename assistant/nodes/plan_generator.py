"""plan_generator: intent -> a checked plan, resolved against the real catalog."""

from __future__ import annotations

import re
from typing import Any

import structlog
from langgraph.runtime import Runtime
from pydantic import TypeAdapter

from assistant.commerce import CommerceError
from assistant.intents import (
    ApplyCoupon,
    Buy,
    ChangeQuantity,
    Checkout,
    Confirm,
    Decline,
    Intent,
    Search,
    Unclear,
)
from assistant.llm.offline import FILLER, SIZES
from assistant.plan import ClarifyStep, Plan, PlanContext, RefundLine, generate_plan
from assistant.state import AssistantContext, AssistantState

log = structlog.get_logger(__name__)
INTENT: TypeAdapter[Intent] = TypeAdapter(Intent)


async def plan_generator(
    state: AssistantState, runtime: Runtime[AssistantContext]
) -> dict[str, Any]:
    parsed = state.get("parsed") or {}
    intent = INTENT.validate_python(parsed["intent"])
    editing = bool(state.get("editing"))
    context = PlanContext(
        last_items=[RefundLine.model_validate(i) for i in state.get("last_items") or []],
        budget_cents=state.get("budget_cents") if editing else None,
        coupon_code=state.get("coupon_code") if editing else None,
        checkout_pending=editing,
        has_address=bool(state.get("address")),
    )
    try:
        plan = await generate_plan(intent, runtime.context.commerce, context)
        asked = state.get("asked")
        if asked and not editing:
            plan = await answer_to_question(
                asked, state.get("text", ""), intent, plan, runtime.context, context
            )
    except CommerceError as exc:
        return {
            "plan": None,
            "replies": [*state.get("replies", []), f"I could not reach the shop: {exc.message}"],
            "status": "idle",
        }
    except ValueError:  # a plan that breaks the plan rules is never run
        log.exception("assistant.plan_invalid", kind=intent.kind)
        return {
            "plan": None,
            "replies": [
                *state.get("replies", []),
                "I could not put together a safe plan for that. Could you say it another way?",
            ],
            "status": "idle",
        }
    log.info("assistant.planned", outcome=plan.outcome, steps=[s.kind for s in plan.steps])
    update: dict[str, Any] = {
        "plan": plan.model_dump(mode="json"),
        "cursor": 0,
        "approved_total_cents": None,
        "asked": None,
    }
    if not editing:
        update["pending"] = None
    if plan.outcome in ("checkout", "substitute"):
        update["budget_cents"] = plan.budget_cents
        update["coupon_code"] = plan.coupon_code
    if not editing:
        update["cart_undo"] = []
    return update


async def answer_to_question(
    asked: dict[str, Any],
    text: str,
    intent: Intent,
    plan: Plan,
    context: AssistantContext,
    plan_context: PlanContext,
) -> Plan:
    """After "Which batteries: AA or AAA?" an answer like "AA" completes the earlier request:
    the request and the answer are read together. A yes after "would X do instead?" takes
    the substitute. A message that is a request of its own is left as it is."""
    original = (await context.parser.parse(asked["text"])).intent
    if isinstance(intent, ChangeQuantity) and isinstance(original, Buy) and intent.quantity > 0:
        # "make it three" after a question about a request: the item of that request, the
        # one in focus, never a line that was in the cart before
        focused = _focused_item(original, intent.item)
        if focused is None:
            return plan
        items = [
            i.model_copy(update={"quantity": intent.quantity}) if n == focused else i
            for n, i in enumerate(original.items)
        ]
        return await generate_plan(
            original.model_copy(update={"items": items}), context.commerce, plan_context
        )
    if asked["about"] == "coupon":
        return await _answer_about_coupon(original, intent, plan, context, plan_context)
    if asked["about"] == "substitute" and isinstance(intent, Confirm) and isinstance(original, Buy):
        allowed = original.constraints.model_copy(update={"substitutions_allowed": True})
        retry = original.model_copy(update={"constraints": allowed})
        return await generate_plan(retry, context.commerce, plan_context)
    if asked["about"] == "budget":
        budget = intent.constraints.budget_cents if isinstance(intent, Buy) else None
        if budget is None or not isinstance(original, Buy) or plan.outcome != "refuse":
            return plan
        # the same request with the new budget (its own words named nothing carried)
        same = original.constraints.model_copy(update={"budget_cents": budget})
        return await generate_plan(
            original.model_copy(update={"constraints": same}), context.commerce, plan_context
        )
    fragment = isinstance(intent, Buy) and not intent.explicit and len(text.split()) <= 8
    short_answer = (len(text.split()) <= 4 or fragment) and isinstance(
        intent, Buy | Unclear | Search
    )
    if not short_answer or not isinstance(original, Buy):
        return plan
    for candidate in _answered(original, text):
        combined = await generate_plan(candidate, context.commerce, plan_context)
        unknown = any(getattr(s, "code", None) == "unknown_product" for s in combined.steps)
        if combined.outcome != "clarify" and not unknown:
            return combined
    return plan


async def _answer_about_coupon(
    original: Intent, answer: Intent, plan: Plan, context: AssistantContext, ctx: PlanContext
) -> Plan:
    """After "SAVE10 needs an order of at least $20.00. Shall I go ahead without it?": a yes
    plans the request without the coupon, another code plans it with that code."""
    code: str | None
    if isinstance(answer, Decline):
        said = "Okay, I did not order it. What would you like to do?"
        return Plan(steps=[ClarifyStep(question=said)], outcome="clarify", message=said)
    if isinstance(answer, Confirm) or (isinstance(answer, Checkout) and not answer.coupon_code):
        code = None  # "go ahead without it", "just check out without the code"
    elif isinstance(answer, ApplyCoupon):
        code = answer.code
    else:
        return plan
    retry: Intent
    if isinstance(original, Buy | Checkout):
        retry = original.model_copy(update={"coupon_code": code})
    elif isinstance(original, ApplyCoupon):
        retry = Checkout(coupon_code=code)
    else:
        return plan
    return await generate_plan(retry, context.commerce, ctx)


def _focused_item(request: Buy, named: str | None) -> int | None:
    """Which item of the request a follow-up edit means: the one it names, or the only one."""
    if named is None:
        return 0 if len(request.items) == 1 else None
    words = {w.rstrip("s") for w in re.findall(r"[a-z0-9]+", named.lower())}
    hits = [
        n
        for n, item in enumerate(request.items)
        if words & {w.rstrip("s") for w in re.findall(r"[a-z0-9]+", item.query.lower())}
    ]
    return hits[0] if len(hits) == 1 else None


SIZE_WORDS = {**SIZES, "s": "S", "m": "M", "l": "L", "extra": "XL"}
NOT_PRODUCT_WORDS = FILLER | {"one", "ones", "mean", "meant", "the", "a", "an", "size", "please"}


def _answered(original: Buy, answer: str) -> list[Buy]:
    """The earlier request with the answer put into each of its items in turn: a size as
    the item's size, other words in front of the item's words ("AA" + "batteries")."""
    words = [w for w in re.findall(r"[a-z0-9-]+", answer.lower()) if w not in NOT_PRODUCT_WORDS]
    if not words:
        return []
    size = SIZE_WORDS.get(words[0]) if len(words) == 1 else None
    candidates = []
    for index, item in enumerate(original.items):
        if size is not None:
            changed = item.model_copy(update={"attributes": {**item.attributes, "size": size}})
        else:
            changed = item.model_copy(update={"query": f"{' '.join(words)} {item.query}"[:200]})
        items = [*original.items[:index], changed, *original.items[index + 1 :]]
        candidates.append(original.model_copy(update={"items": items}))
    return candidates
