"""intent_parser: the person's message -> a typed intent (offline rules or a model), after
its typos are put right against the shop's words (`assistant.spelling`)."""

from __future__ import annotations

from typing import Any

import structlog
from langgraph.runtime import Runtime

from assistant.commerce import CommerceError
from assistant.intents import ParsedMessage, Unclear
from assistant.llm.offline import WHAT_NEXT
from assistant.spelling import intent_speller, speller_for
from assistant.state import AssistantContext, AssistantState

log = structlog.get_logger(__name__)
INJECTION_NOTE = "ignored instructions aimed at the assistant"


async def intent_parser(
    state: AssistantState, runtime: Runtime[AssistantContext]
) -> dict[str, Any]:
    context = runtime.context
    text = state.get("text", "")
    try:
        speller = await speller_for(context.commerce)
    except CommerceError as exc:  # the catalog's words unavailable: the intents' words still
        log.warning("assistant.vocabulary_unavailable", error=exc.message)
        speller = intent_speller()
    corrected = speller.correct(text)
    if corrected.changes:
        log.info("assistant.spelling", changes=[f"{a}->{b}" for a, b in corrected.changes])
        text = corrected.text
    try:
        parsed = await context.parser.parse(text)
    except Exception:  # a parser that fails must not fail the turn: ask instead
        log.exception("assistant.parse_failed", parser=context.parser.name)
        parsed = ParsedMessage(intent=Unclear(question=WHAT_NEXT), notes=["unreadable"])
    replies: list[str] = []
    if any(note.startswith(INJECTION_NOTE) for note in parsed.notes):
        replies.append(
            "I set aside the part of your message that tells me how to behave: I always show "
            "you the exact total and wait for your yes, and I keep to your budget."
        )
    update: dict[str, Any] = {
        "text": text,
        "parsed": parsed.model_dump(mode="json"),
        "replies": replies,
        "status": "idle",
    }
    if state.get("address") is None:
        try:
            update["address"] = (await context.commerce.me()).get("address")
        except CommerceError as exc:
            log.warning("assistant.address_unavailable", error=exc.message)
    log.info("assistant.parsed", parser=context.parser.name, kind=parsed.intent.kind)
    return update
