"""How often the saga sent a step's command again during a run (docs/adr/0020).

Counted from the orchestrator's timelines: every step command (ReserveInventory,
ProcessPayment, CreateOrder and the compensations) sent more than once for the same saga
and step is a re-send. Also how many sagas failed with `timeout`, and what the BFF and the
orchestrator sent again end to end (InitiateCheckoutCommand; the saga's last messages).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from commerce.platform.db import Database
from commerce.platform.settings import Settings
from commerce.services import SERVICES

STEP_COMMANDS = (
    "ReserveInventory", "ProcessPayment", "CreateOrder", "CompensatePayment", "CompensateInventory",
)  # fmt: skip


async def resend_stats(settings: Settings) -> dict[str, Any]:
    spec = SERVICES["checkout-orchestrator"]
    db = Database(settings.service_database_url(spec.env_prefix, spec.database), pool_size=1)
    try:
        async with db.sessions() as session:
            sends = (
                await session.execute(
                    text(
                        "SELECT count(*) AS sent, count(DISTINCT (checkout_id, type, state)) AS steps"
                        " FROM saga_events WHERE direction = 'out' AND type = ANY(:types)"
                    ),
                    {"types": list(STEP_COMMANDS)},
                )
            ).one()
            sagas = (
                await session.execute(
                    text(
                        "SELECT count(*) AS sagas, count(*) FILTER (WHERE code = 'timeout') AS timeouts,"
                        " count(*) FILTER (WHERE state = 'completed') AS completed,"
                        " count(*) FILTER (WHERE state NOT IN ('completed', 'failed')) AS open"
                        " FROM sagas"
                    )
                )
            ).one()
    finally:
        await db.dispose()
    resent = int(sends.sent) - int(sends.steps)
    count = int(sagas.sagas)
    return {
        "sagas": count, "completed": int(sagas.completed), "open": int(sagas.open),
        "timeouts": int(sagas.timeouts), "step_commands_sent": int(sends.sent),
        "step_resends": resent, "resends_per_saga": round(resent / count, 3) if count else 0.0,
    }  # fmt: skip


def line(stats: dict[str, Any]) -> str:
    return (
        f"Saga re-sends: {stats['step_resends']} step commands sent again for {stats['sagas']} "
        f"sagas ({stats['resends_per_saga']} per saga); {stats['timeouts']} failed with timeout; "
        f"{stats['completed']} completed, {stats['open']} still open."
    )
