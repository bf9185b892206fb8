"""Runs the cases against a parser backend and scores intents, slots and plans.

For each case the last message is parsed with the conversation's real context (earlier
messages, whether a confirmation is pending) and scored against the expected intent and
slots. With plans on, the whole conversation is replayed through
`assistant.plan.generate_plan` over the seeded catalog (`evals.snapshot`): cart edits of
earlier turns are applied, a pending purchase is remembered, and a yes/no to it is
handled as the assistant's graph does (yes runs the rest of the pending plan, no drops
it). The last turn's plan is scored: step kinds, outcome, lines, validity, safety.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, cast

import structlog

from assistant.intents import Confirm, Decline, ParsedMessage
from assistant.nodes.plan_generator import answer_to_question
from assistant.plan import Plan, PlanContext, RefundLine, generate_plan
from assistant.spelling import speller_for
from assistant.state import AssistantContext
from evals.backends import Parser, Usage
from evals.dataset import PLAN_ORDER_ID, Case, catalog_facts
from evals.metrics import (
    Counts,
    lines_match,
    mean,
    over_budget_checkout,
    pass_hat_k,
    plan_exact,
    plan_problems,
    slot_counts,
    step_match,
    sum_counts,
    unapproved_checkout,
)
from evals.snapshot import SnapshotCommerce, past_order

log = structlog.get_logger()


@dataclass
class CaseResult:
    id: str
    category: str
    split: str
    backend: str
    trial: int
    expected_intent: str
    predicted_intent: str | None
    intent_correct: bool
    slots_tp: int
    slots_fp: int
    slots_fn: int
    plan_expected: list[str]
    plan_predicted: list[str] | None = None
    plan_exact: bool | None = None
    step_match: float | None = None
    outcome_expected: str = ""
    outcome_predicted: str | None = None
    outcome_correct: bool | None = None
    lines_correct: bool | None = None
    plan_problems: list[str] = field(default_factory=list)
    unapproved_checkout: bool = False
    over_budget_checkout: bool = False
    false_approval: bool = False
    budget_lost: bool = False
    latency_ms: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    fallbacks: int = 0
    error: str | None = None

    @property
    def slots(self) -> Counts:
        return Counts(self.slots_tp, self.slots_fp, self.slots_fn)

    @property
    def passed(self) -> bool:
        """Everything scored for this case is right."""
        ok = self.error is None and self.intent_correct and self.slots_fp == self.slots_fn == 0
        if self.outcome_correct is not None:
            ok = ok and self.outcome_correct and self.lines_correct is not False
        return ok

    def dump(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


@dataclass
class _Conversation:
    commerce: SnapshotCommerce
    context: PlanContext = field(default_factory=PlanContext)
    pending: Plan | None = None
    # the request a question was asked about, which the next answer completes (as the
    # graph's clarification node keeps it): {"text", "about"}
    asked: dict[str, Any] | None = None


@dataclass
class _Reparse:
    """The backend as the graph's plan_generator reads an earlier request again."""

    parser: Parser

    async def parse(self, text: str) -> ParsedMessage:
        parsed, _usage = await self.parser.parse(text, awaiting_confirmation=False)
        return parsed


ASKED_ABOUT = ("ambiguous", "substitute", "coupon", "budget")


def _asked(plan: Plan, text: str) -> dict[str, Any] | None:
    """What the clarification node keeps of a question, so the answer completes it."""
    last = plan.steps[-1]
    about = getattr(last, "about", None) if last.kind == "clarify" else None
    if last.kind == "refuse" and getattr(last, "code", None) in ("over_budget", "over_price_cap"):
        about = "budget"
    return {"text": text, "about": about} if about in ASKED_ABOUT else None


def _start(case: Case) -> _Conversation:
    orders = [
        past_order(
            PLAN_ORDER_ID if i == 0 else f"{i:08d}-0000-4000-8000-000000000000",
            [(li.sku, li.quantity) for li in o.lines],
        )
        for i, o in enumerate(case.context.orders)
    ]
    commerce = SnapshotCommerce(
        cart_lines={li.sku: li.quantity for li in case.context.cart}, past_orders=orders
    )
    return _Conversation(commerce=commerce)


def _after_confirm(plan: Plan) -> list[Any]:
    kinds = [s.kind for s in plan.steps]
    if "confirm" in kinds:
        return list(plan.steps[kinds.index("confirm") + 1 :])
    return [s for s in plan.steps if s.kind in ("cancel_order", "refund")]


async def _turn(
    conv: _Conversation, parsed: ParsedMessage, text: str = "", parser: Parser | None = None
) -> tuple[list[Any], str]:
    """The steps and outcome of one turn; applies its cart effects to the conversation."""
    intent = parsed.intent
    asked, conv.asked = conv.asked, None
    if conv.pending is not None and isinstance(intent, Confirm):
        steps, outcome = _after_confirm(conv.pending), conv.pending.outcome
        conv.pending = None
        conv.context = PlanContext()
        return steps, outcome
    if conv.pending is not None and isinstance(intent, Decline):
        conv.pending = None
        conv.context = PlanContext()
        return [], "answer"
    plan = await generate_plan(intent, conv.commerce, conv.context)
    if asked is not None and parser is not None and conv.pending is None:
        context = AssistantContext(
            commerce=cast(Any, conv.commerce), parser=cast(Any, _Reparse(parser))
        )
        plan = await answer_to_question(asked, text, intent, plan, context, conv.context)
    if conv.pending is None:
        conv.asked = _asked(plan, text)
    cart = conv.commerce.cart_lines
    # a question or a refusal goes to the clarification node: none of its steps is run
    run = plan.outcome not in ("clarify", "refuse")
    for step in plan.steps if run else ():
        if step.kind == "add_to_cart":
            cart[step.sku] = cart.get(step.sku, 0) + step.quantity
        elif step.kind == "remove_from_cart":
            cart.pop(step.sku, None)
        elif step.kind == "set_quantity":
            cart[step.sku] = step.quantity
    if any(s.kind == "confirm" for s in plan.steps):  # the graph waits at the confirm step
        conv.pending = plan
        adds = [s for s in plan.steps if s.kind == "add_to_cart"]
        conv.context = PlanContext(
            last_items=[RefundLine(sku=s.sku, name=s.name, quantity=s.quantity) for s in adds]
            or conv.context.last_items,
            budget_cents=plan.budget_cents,
            coupon_code=plan.coupon_code,
            checkout_pending=plan.outcome in ("checkout", "substitute"),
        )
    else:
        conv.pending = None
    return list(plan.steps), plan.outcome


async def _corrected(text: str) -> str:
    return (await speller_for(SnapshotCommerce())).correct(text).text


async def _parse(parser: Parser, text: str, awaiting: bool) -> tuple[ParsedMessage, float, Usage]:
    started = time.perf_counter()
    # typos put right against the catalog's and the intents' words, as the graph does
    text = (await speller_for(SnapshotCommerce())).correct(text).text
    parsed, usage = await parser.parse(text, awaiting_confirmation=awaiting)
    elapsed = (time.perf_counter() - started) * 1000
    return parsed, elapsed, usage or Usage()


async def score_case(case: Case, parser: Parser, *, plans: bool, trial: int = 0) -> CaseResult:
    texts = case.texts()
    expected = case.expected
    want = expected.intent_dump()
    result = CaseResult(
        id=case.id, category=case.category, split=case.split, backend=parser.name, trial=trial,
        expected_intent=expected.intent, predicted_intent=None, intent_correct=False,
        slots_tp=0, slots_fp=0, slots_fn=len(want), plan_expected=list(expected.plan),
        outcome_expected=expected.outcome,
    )  # fmt: skip
    try:
        parsed, latency, usage = await _parse(parser, texts[-1], case.context.awaiting_confirmation)
    except Exception as exc:  # a backend failure is a failed case, not a failed run
        log.warning("eval_parse_failed", case=case.id, backend=parser.name, error=str(exc))
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    got = parsed.intent.model_dump(mode="json")
    counts = slot_counts(want, got)
    result.predicted_intent = parsed.intent.kind
    result.intent_correct = parsed.intent.kind == expected.intent
    result.slots_tp, result.slots_fp, result.slots_fn = counts.tp, counts.fp, counts.fn
    result.latency_ms = latency
    result.prompt_tokens, result.completion_tokens = usage.prompt_tokens, usage.completion_tokens
    result.fallbacks = int(usage.fallback)
    result.false_approval = parsed.intent.kind == "confirm" and expected.intent != "confirm"
    budget = expected.budget_cents
    if budget is not None:
        constraints = got.get("constraints") or {}
        said = constraints.get("budget_cents")
        result.budget_lost = said is None or said > budget
    if not plans:
        return result
    try:
        await _score_plan(case, parser, parsed, result)
    except Exception as exc:
        log.warning("eval_plan_failed", case=case.id, backend=parser.name, error=str(exc))
        result.error = f"plan: {type(exc).__name__}: {exc}"
    return result


def _count(result: CaseResult, latency: float, usage: Usage) -> None:
    result.latency_ms += latency
    result.prompt_tokens += usage.prompt_tokens
    result.completion_tokens += usage.completion_tokens
    result.fallbacks += int(usage.fallback)


async def _score_plan(case: Case, parser: Parser, last: ParsedMessage, result: CaseResult) -> None:
    texts = case.texts()
    conv = _start(case)
    for text in texts[:-1]:
        earlier, latency, usage = await _parse(parser, text, conv.pending is not None)
        _count(result, latency, usage)
        await _turn(conv, earlier, await _corrected(text), parser)
    if (conv.pending is not None) != case.context.awaiting_confirmation:
        # earlier turns went differently: parse the last message in the context they left
        last, latency, usage = await _parse(parser, texts[-1], conv.pending is not None)
        _count(result, latency, usage)
    steps, outcome = await _turn(conv, last, await _corrected(texts[-1]), parser)
    kinds = [s.kind for s in steps]
    expected = case.expected
    result.plan_predicted = kinds
    result.plan_exact = plan_exact(expected.plan, kinds)
    result.step_match = step_match(expected.plan, kinds)
    result.outcome_predicted = outcome
    result.outcome_correct = outcome == expected.outcome
    got_lines: list[dict[str, Any]]
    if outcome in ("checkout", "substitute"):
        got_lines = [{"sku": s, "quantity": q} for s, q in conv.commerce.cart_lines.items()]
    else:
        got_lines = [
            {"sku": s.sku, "quantity": s.quantity} for s in steps if s.kind == "add_to_cart"
        ]
    if expected.lines and expected.outcome in ("checkout", "substitute", "cart_updated"):
        result.lines_correct = lines_match([ln.model_dump() for ln in expected.lines], got_lines)
    dumped = [s.model_dump(mode="json") for s in steps]
    result.plan_problems = plan_problems(
        dumped, catalog_facts(), budget_cents=expected.budget_cents
    )
    subtotal = sum(catalog_facts().prices.get(li["sku"], 0) * li["quantity"] for li in got_lines)
    result.unapproved_checkout = unapproved_checkout(
        kinds, approved_in_message=case.approval_in_last_message
    )
    result.over_budget_checkout = over_budget_checkout(kinds, subtotal, expected.budget_cents)


async def run(
    cases: Sequence[Case],
    parser: Parser,
    *,
    plans: bool = True,
    repeat: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> list[CaseResult]:
    results: list[CaseResult] = []
    total = len(cases) * repeat
    for trial in range(repeat):
        for case in cases:
            results.append(await score_case(case, parser, plans=plans, trial=trial))
            if progress is not None:
                progress(len(results), total)
    return results


# -- summaries ---------------------------------------------------------------------------


def _rate(values: Sequence[bool | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(1 for v in known if v) / len(known) if known else None


def summarize_group(results: Sequence[CaseResult]) -> dict[str, Any]:
    counts = sum_counts(r.slots for r in results)
    steps = [r.step_match for r in results if r.step_match is not None]
    return {
        "cases": len({r.id for r in results}),
        "intent_accuracy": _rate([r.intent_correct for r in results]),
        "slot_precision": counts.precision,
        "slot_recall": counts.recall,
        "slot_f1": counts.f1,
        "plan_exact": _rate([r.plan_exact for r in results]),
        "step_match": mean(steps) if steps else None,
        "outcome_accuracy": _rate([r.outcome_correct for r in results]),
        "lines_accuracy": _rate([r.lines_correct for r in results]),
        "plan_validity": _rate(
            [not r.plan_problems for r in results if r.plan_predicted is not None]
        ),
        "pass_rate": _rate([r.passed for r in results]),
    }


def summarize(results: Sequence[CaseResult]) -> dict[str, Any]:
    """Scores per category and overall; pass^k for k up to the trials every case had."""
    by_category: dict[str, list[CaseResult]] = defaultdict(list)
    for r in results:
        by_category[r.category].append(r)
    latencies = [r.latency_ms for r in results if r.error is None]
    per_case: dict[str, list[bool]] = defaultdict(list)
    for r in results:
        per_case[r.id].append(r.passed)
    trials = min((len(v) for v in per_case.values()), default=0)
    pass_k = {
        str(k): mean(pass_hat_k(sum(v), len(v), k) for v in per_case.values())
        for k in range(1, trials + 1)
    }
    return {
        "overall": summarize_group(results),
        "categories": {c: summarize_group(rs) for c, rs in sorted(by_category.items())},
        "safety": {
            "checkouts_without_approval": sum(r.unapproved_checkout for r in results),
            "checkouts_over_budget": sum(r.over_budget_checkout for r in results),
            "approvals_not_given": sum(r.false_approval for r in results),
            "budgets_lost": sum(r.budget_lost for r in results),
        },
        "errors": sum(1 for r in results if r.error is not None),
        "fallbacks": sum(r.fallbacks for r in results),
        "latency_ms": {
            "p50": statistics.median(latencies) if latencies else 0.0,
            "p95": statistics.quantiles(latencies, n=20)[-1]
            if len(latencies) >= 2
            else (latencies[0] if latencies else 0.0),
            "mean": mean(latencies),
        },
        "tokens": {
            "prompt": sum(r.prompt_tokens for r in results),
            "completion": sum(r.completion_tokens for r in results),
        },
        "pass_hat_k": pass_k,
        "trials": trials,
    }
