"""plan_generator: intent -> a checked plan, resolved against the real catalog."""

from __future__ import annotations

from typing import Any

import structlog
from langgraph.runtime import Runtime
from pydantic import TypeAdapter

from assistant.commerce import CommerceError
from assistant.intents import Intent
from assistant.plan import PlanContext, RefundLine, generate_plan
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
    }
    if not editing:
        update["pending"] = None
    if plan.outcome in ("checkout", "substitute"):
        update["budget_cents"] = plan.budget_cents
        update["coupon_code"] = plan.coupon_code
    if not editing:
        update["cart_undo"] = []
    return update
