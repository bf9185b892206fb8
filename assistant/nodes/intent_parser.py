"""intent_parser: the person's message -> a typed intent (offline rules or a model)."""

from __future__ import annotations

from typing import Any

import structlog
from langgraph.runtime import Runtime

from assistant.commerce import CommerceError
from assistant.intents import ParsedMessage, Unclear
from assistant.llm.offline import WHAT_NEXT
from assistant.state import AssistantContext, AssistantState

log = structlog.get_logger(__name__)
INJECTION_NOTE = "ignored instructions aimed at the assistant"


async def intent_parser(
    state: AssistantState, runtime: Runtime[AssistantContext]
) -> dict[str, Any]:
    context = runtime.context
    try:
        parsed = await context.parser.parse(state.get("text", ""))
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
