"""The shopping assistant's LangGraph graph.

    intent_parser -> plan_generator -> clarification                      -> END
                                    -> plan_executor -> confirmation (interrupt)
                                                        ├─ yes  -> plan_executor -> END
                                                        ├─ no   -> END (cart put back)
                                                        └─ edit -> intent_parser

`build_graph(checkpointer)` compiles it; `graph` (no checkpointer) is what
`langgraph.json` registers for LangGraph tooling. Conversations are threads
(`thread_id` = conversation id) in the PostgreSQL checkpointer (`open_checkpointer`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
from langgraph.graph import START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from assistant.nodes.clarification import clarification
from assistant.nodes.confirmation import confirmation
from assistant.nodes.intent_parser import intent_parser
from assistant.nodes.plan_executor import plan_executor
from assistant.nodes.plan_generator import plan_generator
from assistant.state import AssistantContext, AssistantState

CHECKPOINT_SCHEMA = "assistant"

Graph = CompiledStateGraph[AssistantState, AssistantContext, Any, Any]


def after_plan(state: AssistantState) -> Literal["clarification", "plan_executor", "__end__"]:
    plan = state.get("plan")
    if plan is None:
        return "__end__"
    return "clarification" if plan["outcome"] in ("clarify", "refuse") else "plan_executor"


def after_execution(state: AssistantState) -> Literal["confirmation", "__end__"]:
    return "confirmation" if state.get("status") == "awaiting_confirmation" else "__end__"


def builder() -> StateGraph[AssistantState, AssistantContext, Any, Any]:
    graph = StateGraph(AssistantState, context_schema=AssistantContext)
    graph.add_node("intent_parser", intent_parser)
    graph.add_node("plan_generator", plan_generator)
    graph.add_node("clarification", clarification)
    graph.add_node("plan_executor", plan_executor)
    graph.add_node("confirmation", confirmation)
    graph.add_edge(START, "intent_parser")
    graph.add_edge("intent_parser", "plan_generator")
    graph.add_conditional_edges("plan_generator", after_plan)
    graph.add_conditional_edges("clarification", after_execution)
    graph.add_conditional_edges("plan_executor", after_execution)
    return graph


def build_graph(checkpointer: BaseCheckpointSaver[Any] | None = None) -> Graph:
    return builder().compile(checkpointer=checkpointer, name="shopping-assistant")


graph = build_graph()


def conninfo(sqlalchemy_url: str) -> str:
    """A libpq URL for psycopg from the services' `postgresql+asyncpg://` URL."""
    from sqlalchemy.engine import make_url

    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


@asynccontextmanager
async def open_checkpointer(
    database_url: str, *, max_size: int = 5
) -> AsyncIterator[AsyncPostgresSaver]:
    """The PostgreSQL checkpointer, its tables in their own schema (`assistant`) of the
    given database, so they stay apart from the tables the service's migrations own."""
    url = conninfo(database_url)
    pool = AsyncConnectionPool(
        url,
        min_size=1,
        max_size=max_size,
        open=False,
        kwargs={
            "autocommit": True,
            "prepare_threshold": 0,
            "row_factory": dict_row,
            "options": f"-c search_path={CHECKPOINT_SCHEMA}",
        },
    )
    await pool.open(wait=True, timeout=30)
    try:
        async with pool.connection() as conn:
            await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {CHECKPOINT_SCHEMA}")
        saver = AsyncPostgresSaver(pool)  # type: ignore[arg-type]
        await saver.setup()
        yield saver
    finally:
        await pool.close()
