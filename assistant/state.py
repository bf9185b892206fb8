"""The graph's state (checkpointed in PostgreSQL per conversation) and its run context.

State holds plain JSON (plans and confirmations as dicts) so a checkpoint written by one
version of the code reads back in another. The context carries what must never be
checkpointed: the person's shop client (with their token) and the parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from assistant.commerce import Commerce
from assistant.llm import Parser
from assistant.schemas import TurnState


class AssistantState(TypedDict, total=False):
    text: str  # the person's latest message
    replies: list[str]  # the assistant's messages of this turn, in order
    parsed: dict[str, Any] | None
    plan: dict[str, Any] | None  # assistant.plan.Plan as JSON
    cursor: int  # index of the next plan step to run
    pending: dict[str, Any] | None  # assistant.schemas.Confirmation as JSON
    pending_plan: dict[str, Any] | None  # the plan the confirmation belongs to
    pending_cursor: int  # where that plan resumes on a yes
    approved_total_cents: int | None  # set only by the confirmation node on an explicit yes
    editing: bool  # the message edits a purchase that awaited approval
    cart_undo: list[dict[str, Any]]  # [{"sku", "previous"}] to put the cart back
    checkout_id: str | None
    status: TurnState
    address: dict[str, Any] | None
    budget_cents: int | None
    coupon_code: str | None
    last_items: list[dict[str, Any]]
    asked: dict[str, Any] | None  # {"text", "about"}: the request a question was asked about


@dataclass
class AssistantContext:
    commerce: Commerce
    parser: Parser
    wait_seconds: float = 8.0  # how long approving waits for the saga's outcome
    poll_seconds: float = 0.2
