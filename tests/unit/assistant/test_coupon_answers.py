"""After "The coupon OLD has expired. Shall I go ahead without it?", going on without the
coupon is read however it is said: a yes, "go ahead without it", "just check out without
the code"; "code then" is never read as a code called THEN."""

from __future__ import annotations

from typing import Any, cast

import pytest
from langgraph.runtime import Runtime

from assistant.intents import Checkout, Confirm
from assistant.llm import AsyncOffline
from assistant.llm.offline import OfflineParser
from assistant.nodes.plan_generator import plan_generator
from assistant.plan import CartLine, Plan
from assistant.state import AssistantContext
from tests.unit.assistant.shop import FakeShop

parser = OfflineParser()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("go ahead without the coupon", Confirm),
        ("fine, without it", Confirm),
        ("skip the code", Confirm),
        ("ugh ok, just check out without it", Checkout),
        ("ok check out without a code then", Checkout),
    ],
)
def test_going_on_without_a_coupon(text: str, kind: type) -> None:
    intent = parser.parse(text).intent
    assert isinstance(intent, kind), intent
    assert getattr(intent, "coupon_code", None) is None


@pytest.mark.parametrize("answer", ["ugh ok, just check out without it", "go ahead without it"])
async def test_the_request_goes_on_without_the_coupon(answer: str) -> None:
    asked = "buy 2 usb-c cables with code OLD"
    state: dict[str, Any] = {
        "text": answer,
        "parsed": parser.parse(answer).model_dump(mode="json"),
        "asked": {"text": asked, "about": "coupon"},
        "address": {"line1": "1 Main St", "city": "San Francisco", "region": "CA"},
    }
    context = AssistantContext(commerce=cast(Any, FakeShop()), parser=AsyncOffline())
    done = await plan_generator(cast(Any, state), Runtime(context=context))
    plan = Plan.model_validate(done["plan"])
    assert plan.outcome == "checkout"
    assert [(s.sku, s.quantity) for s in plan.adds] == [("CBL-1M-BLA", 2)]
    assert "apply_coupon" not in [s.kind for s in plan.steps] and plan.coupon_code is None


@pytest.mark.parametrize("answer", ["make it three", "actually 3", "make it 3 then"])
async def test_a_quantity_after_a_question_changes_the_item_in_focus(answer: str) -> None:
    """ "Make it three" after the coupon question is about the cable just asked for, never
    the batteries that were in the cart before."""
    shop = FakeShop()
    shop.cart_lines = [
        CartLine(sku="BAT-AA-4", name="AA Alkaline Batteries, 4-pack", quantity=1,
                 unit_price_cents=499),
    ]  # fmt: skip
    state: dict[str, Any] = {
        "text": answer,
        "parsed": parser.parse(answer).model_dump(mode="json"),
        "asked": {"text": "buy a usb-c cable with code SAVE10", "about": "coupon"},
        "last_items": [{"sku": "BAT-AA-4", "name": "AA Alkaline Batteries, 4-pack", "quantity": 1}],
        "address": {"line1": "1 Main St", "city": "San Francisco", "region": "CA"},
    }
    context = AssistantContext(commerce=cast(Any, shop), parser=AsyncOffline())
    done = await plan_generator(cast(Any, state), Runtime(context=context))
    plan = Plan.model_validate(done["plan"])
    assert [(s.sku, s.quantity) for s in plan.adds] == [("CBL-1M-BLA", 3)]
    assert not [s for s in plan.steps if s.kind == "set_quantity"]
    assert plan.coupon_code == "SAVE10" and plan.outcome == "checkout"  # three reach $20
