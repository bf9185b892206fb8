"""clarification: one precise question back, or the reason a plan was refused."""

from __future__ import annotations

from typing import Any

from assistant.state import AssistantState


async def clarification(state: AssistantState) -> dict[str, Any]:
    plan = state.get("plan") or {}
    message = plan.get("message") or "Could you say that another way?"
    return {"replies": [*state.get("replies", []), message], "status": "idle", "plan": None}
