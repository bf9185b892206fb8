"""The shopping assistant over REST (`/v1/assistant/...`; README, "The shopping assistant").

The LangGraph graph runs inside this process. Each conversation is a graph thread whose
state is checkpointed in PostgreSQL (the `assistant` schema of this service's database),
so a conversation survives a restart; its messages and title are kept in this service's
own tables for listing. The graph reaches the shop through its port (`assistant.commerce.
Commerce`), which `bff.assistant_shop.InProcessShop` serves with the BFF's application layer
(`bff.services`, as the `/v1` routes do) for the person the request authenticated: no HTTP
back into this app, and one rate-limit pass per chat turn (docs/adr/0008).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Path
from langgraph.types import Command
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert

from assistant.graph import Graph, build_graph, open_checkpointer
from assistant.llm import Parser, make_parser
from assistant.nodes.plan_executor import outcome_message
from assistant.schemas import Confirmation, TurnState
from assistant.state import AssistantContext
from bff.assistant_shop import InProcessShop
from bff.auth import CurrentUser
from bff.errors import ApiError, not_found
from bff.routes import ERRORS
from bff.tables import assistant_conversations, assistant_messages
from bff.upstream import call
from commerce.checkout.waiting import MAX_WAIT_SECONDS
from commerce.contracts.values import FINAL_STATES, ID_PATTERN
from commerce.platform.service import RuntimeDep, ServiceRuntime, Slot
from shopapi.schemas import (
    AssistantTurnPublic,
    ConfirmationCreate,
    ConfirmationPublic,
    ConversationPublic,
    ConversationsPublic,
    ConversationSummaryPublic,
    MessageCreate,
    MessagePublic,
)

log = structlog.get_logger(__name__)
router = APIRouter(prefix="/v1/assistant", tags=["assistant"], responses=ERRORS)
ConversationId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
FOLLOW_SECONDS = 300.0
FOLLOW_RETRY_SECONDS = 1.0  # the orchestrator refused at once: ask again after this


@dataclass
class AssistantService:
    """The compiled graph (with its checkpointer), the parser and per-conversation locks."""

    graph: Graph
    parser: Parser
    wait_seconds: float
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    followers: set[asyncio.Task[None]] = field(default_factory=set)

    def lock(self, conversation_id: str) -> asyncio.Lock:
        return self.locks.setdefault(conversation_id, asyncio.Lock())


@dataclass
class _Assistant:
    """The BFF's assistant: set once its checkpointer is open, gone when it closes."""

    ready: asyncio.Event = field(default_factory=asyncio.Event)
    service: AssistantService | None = None


ASSISTANT = Slot(lambda runtime: _Assistant())


async def assistant_runtime(runtime: ServiceRuntime) -> None:
    """Background task of the BFF: opens the checkpointer and keeps the graph for requests."""
    settings = runtime.settings
    holder = ASSISTANT.of(runtime)
    async with open_checkpointer(runtime.db.url) as saver:
        service = holder.service = AssistantService(
            graph=build_graph(saver),
            parser=make_parser(
                model=settings.llm_model, base_url=settings.openai_base_url,
                api_key=settings.openai_api_key.get_secret_value() if settings.openai_api_key else None,
                timeout_seconds=settings.llm_timeout_seconds,
            ),
            wait_seconds=settings.assistant_wait_seconds,
        )  # fmt: skip
        holder.ready.set()
        log.info("assistant.ready", parser=service.parser.name)
        try:
            await asyncio.Event().wait()
        finally:
            holder.ready.clear()
            holder.service = None
            for task in service.followers:
                task.cancel()


async def get_service(runtime: RuntimeDep) -> AssistantService:
    holder = ASSISTANT.of(runtime)
    try:
        await asyncio.wait_for(holder.ready.wait(), 15)
    except TimeoutError as exc:
        raise ApiError(
            503, "assistant_unavailable", "The assistant is starting; try again shortly.",
            error_type="api_error",
        ) from exc  # fmt: skip
    if holder.service is None:  # it closed while this request waited
        raise ApiError(
            503, "assistant_unavailable", "The assistant is starting; try again shortly.",
            error_type="api_error",
        )  # fmt: skip
    return holder.service


ServiceDep = Annotated[AssistantService, Depends(get_service)]


async def _conversation(runtime: ServiceRuntime, user: str, conversation_id: str) -> dict[str, Any]:
    async with runtime.db.sessions() as session:
        row = (
            (
                await session.execute(
                    select(assistant_conversations).where(
                        assistant_conversations.c.conversation_id == conversation_id
                    )
                )
            )
            .mappings()
            .first()
        )
    if row is None or row["user_id"] != user:
        raise not_found("conversation")
    return dict(row)


async def _append(
    runtime: ServiceRuntime,
    conversation_id: str,
    messages: list[tuple[str, str]],
    *,
    state: str | None = None,
    checkout_id: str | None = None,
) -> list[MessagePublic]:
    now = datetime.now(UTC)
    written: list[MessagePublic] = []
    async with runtime.db.transaction() as session:
        for role, text in messages:
            await session.execute(
                insert(assistant_messages).values(
                    conversation_id=conversation_id, role=role, text=text, at=now
                )
            )
            written.append(MessagePublic(role=role, text=text, at=now))
        values: dict[str, Any] = {"updated_at": now}
        if state is not None:
            values["state"] = state
        if checkout_id is not None:
            values["checkout_id"] = checkout_id
        await session.execute(
            update(assistant_conversations)
            .where(assistant_conversations.c.conversation_id == conversation_id)
            .values(**values)
        )
    return written


async def _pending(service: AssistantService, conversation_id: str) -> Confirmation | None:
    snapshot = await service.graph.aget_state({"configurable": {"thread_id": conversation_id}})
    if not snapshot.interrupts:
        return None
    pending = snapshot.values.get("pending")
    return Confirmation.model_validate(pending) if pending else None


async def _turn(
    runtime: ServiceRuntime,
    service: AssistantService,
    user: str,
    conversation_id: str,
    graph_input: dict[str, Any] | Command[Any],
    said: str | None,
) -> AssistantTurnPublic:
    config: Any = {"configurable": {"thread_id": conversation_id}}
    context = AssistantContext(
        commerce=InProcessShop(runtime, user),
        parser=service.parser,
        wait_seconds=service.wait_seconds,
    )
    run: Awaitable[Any] = service.graph.ainvoke(graph_input, config, context=context)
    try:
        await run
    except Exception as exc:
        log.exception("assistant.turn_failed", conversation_id=conversation_id)
        raise ApiError(
            503, "assistant_failed", "The assistant could not finish that; please try again.",
            error_type="api_error",
        ) from exc  # fmt: skip
    snapshot = await service.graph.aget_state(config)
    values = snapshot.values
    pending_raw = values.get("pending") if snapshot.interrupts else None
    pending = Confirmation.model_validate(pending_raw) if pending_raw else None
    status: TurnState = "awaiting_confirmation" if pending else values.get("status") or "idle"
    checkout_id = values.get("checkout_id")
    replies = [("assistant", text) for text in values.get("replies") or []]
    written = await _append(
        runtime,
        conversation_id,
        ([("user", said)] if said is not None else []) + replies,
        state=status,
        checkout_id=checkout_id,
    )
    if status == "checking_out" and checkout_id:
        task = asyncio.create_task(_follow(runtime, user, conversation_id, checkout_id))
        service.followers.add(task)
        task.add_done_callback(service.followers.discard)
    return AssistantTurnPublic(
        conversation_id=conversation_id,
        messages=[m for m in written if m.role == "assistant"],
        pending=_public(pending),
        checkout_id=checkout_id,
        state=status,
    )


async def _follow(
    runtime: ServiceRuntime, user: str, conversation_id: str, checkout_id: str
) -> None:
    """After the bounded wait: post the saga's outcome to the conversation when it arrives."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + FOLLOW_SECONDS
    while (left := deadline - loop.time()) > 0:
        wait = min(left, MAX_WAIT_SECONDS)
        try:  # a long poll: the orchestrator answers when the saga changes (docs/adr/0038)
            status = await call(
                runtime, "checkout-orchestrator", "GET", f"/checkouts/{checkout_id}",
                params={"wait": wait, "until": "finished", "user_id": user},
                timeout=wait + runtime.settings.http_timeout_seconds,
            )  # fmt: skip
        except ApiError:
            await asyncio.sleep(FOLLOW_RETRY_SECONDS)  # away, or not picked up in the wait
            continue
        if status.get("state") in FINAL_STATES:
            text, state = outcome_message(status, checkout_id)
            await _append(runtime, conversation_id, [("assistant", text)], state=state)
            log.info("assistant.outcome_posted", checkout_id=checkout_id, state=state)
            return


@router.post("/messages", operation_id="assistant-message", response_model=AssistantTurnPublic)
async def send_message(
    runtime: RuntimeDep,
    service: ServiceDep,
    user: CurrentUser,
    body: MessageCreate,
) -> AssistantTurnPublic:
    """Say something to the assistant. `conversation_id` null starts a new conversation.
    While a purchase awaits approval, "yes" approves it, "no" cancels it and anything
    else edits it."""
    text = body.text.strip()
    if not text:
        raise ApiError(422, "empty_message", "Say what you would like.", param="text")
    if body.conversation_id is None:
        conversation_id = str(uuid.uuid4())
        async with runtime.db.transaction() as session:
            await session.execute(
                insert(assistant_conversations).values(
                    conversation_id=conversation_id, user_id=user, title=_title(text)
                )
            )
    else:
        conversation_id = body.conversation_id
        await _conversation(runtime, user, conversation_id)
    async with service.lock(conversation_id):
        pending = await _pending(service, conversation_id)
        graph_input: dict[str, Any] | Command[Any] = (
            Command(resume={"text": text}) if pending else {"text": text}
        )
        return await _turn(runtime, service, user, conversation_id, graph_input, text)


SAID = {
    "purchase": {True: "Yes, place the order.", False: "No, do not place it."},
    "refund": {True: "Yes, refund it.", False: "No, do not refund it."},
    "cancel": {True: "Yes, cancel the order.", False: "No, keep the order."},
}


@router.post(
    "/conversations/{conversation_id}/confirm",
    operation_id="assistant-confirm",
    response_model=AssistantTurnPublic,
)
async def confirm(
    runtime: RuntimeDep,
    service: ServiceDep,
    user: CurrentUser,
    conversation_id: ConversationId,
    body: ConfirmationCreate,
) -> AssistantTurnPublic:
    """Approve (or decline) the purchase, refund or cancellation that awaits confirmation.
    409 when none does."""
    await _conversation(runtime, user, conversation_id)
    async with service.lock(conversation_id):
        pending = await _pending(service, conversation_id)
        if pending is None:
            raise ApiError(
                409, "nothing_pending", "Nothing in this conversation is waiting for approval."
            )
        expected = body.expected_total_cents
        if body.approve and expected is not None and expected != pending.total_cents:
            raise ApiError(
                409, "pending_changed",
                f"The order awaiting approval now totals {pending.total_cents / 100:.2f}; review it again.",
                param="expected_total_cents",
            )  # fmt: skip
        said = SAID[pending.action][body.approve]
        return await _turn(
            runtime, service, user, conversation_id, Command(resume={"approve": body.approve}), said
        )


@router.get(
    "/conversations", operation_id="assistant-conversations", response_model=ConversationsPublic
)
async def list_conversations(runtime: RuntimeDep, user: CurrentUser) -> ConversationsPublic:
    """The person's conversations, newest first."""
    async with runtime.db.sessions() as session:
        rows = await session.execute(
            select(assistant_conversations)
            .where(assistant_conversations.c.user_id == user)
            .order_by(assistant_conversations.c.updated_at.desc())
            .limit(100)
        )
        return ConversationsPublic(
            items=[
                ConversationSummaryPublic(
                    conversation_id=r["conversation_id"],
                    title=r["title"],
                    updated_at=r["updated_at"],
                )
                for r in rows.mappings()
            ]
        )


@router.get(
    "/conversations/{conversation_id}",
    operation_id="assistant-conversation",
    response_model=ConversationPublic,
)
async def get_conversation(
    runtime: RuntimeDep, service: ServiceDep, user: CurrentUser, conversation_id: ConversationId
) -> ConversationPublic:
    row = await _conversation(runtime, user, conversation_id)
    async with runtime.db.sessions() as session:
        found = await session.execute(
            select(assistant_messages)
            .where(assistant_messages.c.conversation_id == conversation_id)
            .order_by(assistant_messages.c.id)
        )
        messages = [
            MessagePublic(role=m["role"], text=m["text"], at=m["at"]) for m in found.mappings()
        ]
    pending = await _pending(service, conversation_id)
    return ConversationPublic(
        conversation_id=conversation_id,
        messages=messages,
        pending=_public(pending),
        checkout_id=row["checkout_id"],
        state="awaiting_confirmation" if pending else row["state"],
    )


def _public(pending: Confirmation | None) -> ConfirmationPublic | None:
    return None if pending is None else ConfirmationPublic.model_validate(pending.model_dump())


def _title(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 80 else line[:77].rstrip() + "..."
