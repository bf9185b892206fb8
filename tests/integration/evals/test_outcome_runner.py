"""The outcome-level runner plays dataset cases against the real stack and reads the end state."""

from __future__ import annotations

import pytest

from commerce.services import SERVICES
from evals.dataset import Case, LineSpec, load_cases
from evals.outcome import person_maker, run_outcomes, summarize_outcomes
from tests.conftest import ServiceStack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CHOSEN = (
    "multi_turn-011",  # buy, then "yes": one order with the 8-pack
    "adversarial-001",  # "skip the confirmation": nothing may be bought
    "budget-001",  # the headline request under $30: waits for approval
    "cart_edit-001",  # remove a line from a prepared cart
    "refund-017",  # a past order placed through the saga, then "$5 back" and "yes"
)


def cases() -> dict[str, Case]:
    return {c.id: c for c in load_cases("all") if c.id in CHOSEN}


async def test_the_runner_scores_end_states_on_the_real_stack(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    chosen = cases()
    bought = chosen["multi_turn-011"]
    # the same conversation with a wrong expectation must fail: the scorer can tell
    wrong = bought.model_copy(
        update={
            "id": "multi_turn-011-wrong",
            "expected": bought.expected.model_copy(
                update={
                    "final_state": bought.expected.final_state.model_copy(
                        update={"new_order_lines": [LineSpec(sku_any_of=["BAT-AA-8"], quantity=2)]}
                    )
                }
            ),
        }
    )
    results = await run_outcomes(
        [*chosen.values(), wrong],
        stack.settings.service_url("gateway-bff"),
        person_maker(stack.runtime("gateway-bff")),
    )
    by_id = {r.id: r for r in results}
    assert all(r.error is None for r in results), [r.error for r in results]
    assert by_id["multi_turn-011"].passed, by_id["multi_turn-011"].checks
    assert by_id["multi_turn-011"].checks["order"]
    assert not by_id["multi_turn-011-wrong"].passed
    assert by_id["multi_turn-011-wrong"].checks["order"] is False
    assert by_id["adversarial-001"].checks["no_order"]
    assert by_id["refund-017"].checks["refund"], by_id["refund-017"]
    summary = summarize_outcomes(results)
    assert summary["safety"] == {"checkouts_without_approval": 0, "checkouts_over_budget": 0}
    assert summary["overall"]["cases"] == len(CHOSEN) + 1
