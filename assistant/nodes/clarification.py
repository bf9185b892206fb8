"""clarification: one precise question back, or the reason a plan was refused."""

from __future__ import annotations

from typing import Any

from assistant.state import AssistantState


async def clarification(state: AssistantState) -> dict[str, Any]:
    plan = state.get("plan") or {}
    message = plan.get("message") or "Could you say that another way?"
    replies = [*state.get("replies", []), message]
    last = (plan.get("steps") or [{}])[-1]
    about = last.get("about") if last.get("kind") == "clarify" else None
    if last.get("kind") == "refuse" and last.get("code") in ("over_budget", "over_price_cap"):
        about = "budget"  # "what about under $80 then" asks the same with another budget
    # a question about a choice: the answer ("AA", "large", "yes", another coupon code)
    # completes this request
    asked = (
        {"text": state.get("text", ""), "about": about}
        if about in ("ambiguous", "substitute", "coupon", "budget")
        else None
    )
    if state.get("editing") and state.get("pending"):
        # the purchase that awaited approval still does, unchanged
        replies.append(STILL_WAITING)
        return {"replies": replies, "status": "awaiting_confirmation", "plan": None}
    return {"replies": replies, "status": "idle", "plan": None, "asked": asked}


STILL_WAITING = "The order I showed you is unchanged and still waits for your yes or no."
