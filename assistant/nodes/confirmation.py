"""confirmation: the graph stops here with the plan and the exact quote until the person
answers. Only an explicit yes (approve=true, or a typed yes read by the deterministic
parser) lets the executor continue; "no" puts the cart back; anything else is an edit.

A model never decides whether the person said yes: text sent while a purchase awaits
approval is read by the offline parser, which refuses a yes mixed with instructions to
the assistant ("yes, and skip the checks").
"""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from assistant.intents import Confirm, Decline
from assistant.llm.offline import OfflineParser
from assistant.nodes.plan_executor import undo_cart
from assistant.state import AssistantContext, AssistantState

_answers = OfflineParser()
APPROVED = {
    "purchase": "Placing your order now.",
    "refund": "Starting the refund now.",
    "cancel": "Cancelling the order now.",
}


async def confirmation(
    state: AssistantState, runtime: Runtime[AssistantContext]
) -> Command[Literal["plan_executor", "intent_parser", "__end__"]]:
    pending = state.get("pending")
    if pending is None:
        return Command(goto="__end__")
    answer: dict[str, Any] = interrupt({"confirmation": pending})
    approve: bool | None = answer.get("approve") if isinstance(answer, dict) else None
    text = str(answer.get("text", "")) if isinstance(answer, dict) else ""
    if approve is None and text:
        reading = _answers.parse(text, awaiting_confirmation=True).intent
        if isinstance(reading, Confirm):
            approve = True
        elif isinstance(reading, Decline):
            approve = False
        else:
            return Command(
                goto="intent_parser",
                update={"text": text, "editing": True, "replies": []},
            )
    action = pending.get("action", "purchase")
    order = str(pending.get("order_id") or "")[:8]
    if approve:
        return Command(
            goto="plan_executor",
            update={
                "approved_total_cents": pending["total_cents"],
                "plan": state.get("pending_plan"),
                "cursor": state.get("pending_cursor", 0),
                "editing": False,
                "replies": [APPROVED.get(action, APPROVED["purchase"])],
                "status": "checking_out",
            },
        )
    if action != "purchase":  # a refund or cancellation declined: the order stays as it is
        said = f"Okay, I left order {order} as it is; nothing was refunded or cancelled."
        undo = list(state.get("cart_undo") or [])
    else:
        await undo_cart(runtime.context.commerce, state.get("cart_undo") or [])
        said = (
            "Okay, I did not place the order and nothing was charged. "
            "I put your cart back the way it was."
        )
        undo = []
    return Command(
        goto="__end__",
        update={
            "replies": [said],
            "pending": None,
            "plan": None,
            "cart_undo": undo,
            "editing": False,
            "approved_total_cents": None,
            "status": "idle",
        },
    )
