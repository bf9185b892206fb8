"""Cross-service invariants of the checkout, checked against the service databases.

An operations tool, and the one documented exception to "no service reads another's
tables": it only reads, and only to prove the services agree. Used by `agentshop
check-invariants`, the saga tests, and the load tests after each run.

Checked over finished sagas (sagas still in flight are left out):
- a completed saga has exactly one payment, captured for the saga's total, and an order
  for the same total that is sold (confirmed or later) with its stock committed; or, once
  the order was cancelled after the sale, refunded in full with its stock returned;
- a failed saga has no net charge (captured - refunded = 0), holds no stock, and has
  no sold order;
- money agrees: sum(captured - refunded) over the sagas' payments
  = sum(total - refunded) over their sold orders;
- no reservation of a finished saga is still held; stock is never negative and
  reserved never exceeds on hand (checked over all stock);
- end to end (`follow_ups`): a completed saga's order confirmation is recorded by the
  notification service of each channel it was sent on, and the refund service knows its
  order (else a refund of a paid order answers 404). A saga that finished less than
  `settle_seconds` ago may still have these on their way: it is counted as settling, not
  as a violation (the orchestrator sends lost ones again, docs/adr/0020).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, text

from commerce.checkout.followup import CHANNEL_SERVICE
from commerce.checkout.tables import saga_events, sagas
from commerce.contracts.values import FINAL_STATES
from commerce.inventory.tables import reservations, stock
from commerce.order.domain import SOLD
from commerce.order.tables import orders
from commerce.payment.tables import payments
from commerce.platform.db import Database
from commerce.platform.settings import Settings
from commerce.services import SERVICES


@dataclass
class InvariantReport:
    checked_sagas: int = 0
    in_flight: int = 0
    completed: int = 0
    failed: int = 0
    net_captured_cents: int = 0
    net_sold_cents: int = 0
    settling: int = 0  # completed sagas whose confirmations may still be on their way
    lost_notifications: int = 0
    lost_refund_records: int = 0
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations

    def summary(self) -> str:
        head = (
            f"{self.checked_sagas} finished sagas ({self.completed} completed, {self.failed} failed), "
            f"{self.in_flight} in flight; net captured {self.net_captured_cents} cents, "
            f"net sold {self.net_sold_cents} cents; {self.lost_notifications} lost "
            f"confirmation(s), {self.lost_refund_records} lost refund record(s)"
            + (f", {self.settling} saga(s) settling" if self.settling else "")
        )
        if self.ok:
            return head + "; no violations"
        return (
            head
            + f"; {len(self.violations)} violation(s):\n"
            + "\n".join(f"- {v}" for v in self.violations)
        )


def _db(settings: Settings, name: str) -> Database:
    spec = SERVICES[name]
    return Database(settings.service_database_url(spec.env_prefix, spec.database), pool_size=2)


async def _rows(db: Database, query: Any) -> list[dict[str, Any]]:
    async with db.sessions() as session:
        return [dict(r) for r in (await session.execute(query)).mappings()]


async def check_invariants(
    settings: Settings,
    checkout_ids: Iterable[uuid.UUID] | None = None,
    *,
    follow_ups: bool = True,
    settle_seconds: float = 10.0,
) -> InvariantReport:
    """Check every finished saga (or only `checkout_ids`) and all stock levels; with
    `follow_ups`, also that completed sagas' confirmations and refund records arrived."""
    wanted = set(checkout_ids) if checkout_ids is not None else None
    dbs = {
        n: _db(settings, n)
        for n in ("checkout-orchestrator", "payment-gateway", "order", "inventory")
    }
    try:
        saga_q = select(sagas.c.checkout_id, sagas.c.state, sagas.c.totals)
        if wanted is not None:
            saga_q = saga_q.where(sagas.c.checkout_id.in_(wanted))
        all_sagas = await _rows(dbs["checkout-orchestrator"], saga_q)
        finished = {s["checkout_id"]: s for s in all_sagas if s["state"] in FINAL_STATES}
        ids = list(finished)
        pay = {
            r["checkout_id"]: r
            for r in await _rows(
                dbs["payment-gateway"], select(payments).where(payments.c.checkout_id.in_(ids))
            )
        }
        ords = {
            r["checkout_id"]: r
            for r in await _rows(dbs["order"], select(orders).where(orders.c.checkout_id.in_(ids)))
        }
        holds = {
            r["checkout_id"]: r["status"]
            for r in await _rows(
                dbs["inventory"],
                select(reservations.c.checkout_id, reservations.c.status).where(
                    reservations.c.checkout_id.in_(ids)
                ),
            )
        }
        bad_stock = await _rows(
            dbs["inventory"],
            select(stock).where(text("on_hand < 0 OR reserved < 0 OR reserved > on_hand")),
        )
    finally:
        for db in dbs.values():
            await db.dispose()

    report = InvariantReport(checked_sagas=len(finished), in_flight=len(all_sagas) - len(finished))
    if follow_ups:
        completed = [c for c, s in finished.items() if s["state"] == "completed"]
        await _check_follow_ups(settings, completed, settle_seconds, report)
    v = report.violations
    for checkout_id, saga in finished.items():
        payment, order, hold = pay.get(checkout_id), ords.get(checkout_id), holds.get(checkout_id)
        captured = int(payment["captured_cents"]) if payment else 0
        refunded = int(payment["refunded_cents"]) if payment else 0
        sold = order is not None and order["status"] in SOLD
        report.net_captured_cents += captured - refunded
        if sold:
            assert order is not None
            report.net_sold_cents += int(order["total_cents"]) - int(order["refunded_cents"])
        if hold == "held":
            v.append(f"{checkout_id}: stock still held by a {saga['state']} saga")
        if saga["state"] == "completed":
            report.completed += 1
            total = int(saga["totals"]["total_cents"])
            if payment is None or captured != total:
                v.append(f"{checkout_id}: completed but captured {captured} cents of {total}")
            cancelled = order is not None and order["status"] == "cancelled"
            if cancelled:
                if captured != refunded:
                    v.append(
                        f"{checkout_id}: its order was cancelled but {captured - refunded} cents "
                        "are still charged"
                    )
                if hold != "returned":
                    v.append(f"{checkout_id}: its order was cancelled but its stock is {hold}")
            elif not sold:
                v.append(
                    f"{checkout_id}: completed but its order is {order['status'] if order else 'missing'}"
                )
            elif order is not None and int(order["total_cents"]) != total:
                v.append(
                    f"{checkout_id}: order total {order['total_cents']} differs from the saga's {total}"
                )
            if hold != "committed" and not cancelled:
                v.append(
                    f"{checkout_id}: completed but its stock is {hold or 'not reserved'}, not committed"
                )
        else:
            report.failed += 1
            if captured != refunded:
                v.append(f"{checkout_id}: failed but {captured - refunded} cents are still charged")
            if sold:
                v.append(
                    f"{checkout_id}: failed but its order is {order['status'] if order else '?'}"
                )
    if report.net_captured_cents != report.net_sold_cents:
        v.append(
            f"money does not agree: net captured {report.net_captured_cents} cents, "
            f"net sold {report.net_sold_cents} cents"
        )
    for row in bad_stock:
        v.append(f"stock {row['sku']}: on_hand {row['on_hand']}, reserved {row['reserved']}")
    return report


async def _check_follow_ups(
    settings: Settings, completed: list[uuid.UUID], settle_seconds: float, report: InvariantReport
) -> None:
    """Every order confirmation the saga sent was recorded; refund knows every order."""
    from commerce.refund.tables import orders as refundable

    if not completed:
        return
    e = saga_events
    orchestrator = _db(settings, "checkout-orchestrator")
    try:
        settled = {
            r["checkout_id"]
            for r in await _rows(
                orchestrator,
                select(sagas.c.checkout_id).where(
                    sagas.c.checkout_id.in_(completed),
                    sagas.c.updated_at
                    < text(f"now() - interval '{float(settle_seconds)} seconds'"),
                ),
            )
        }
        sent = await _rows(
            orchestrator,
            select(e.c.checkout_id, e.c.payload).where(
                e.c.checkout_id.in_(list(settled)),
                e.c.direction == "out",
                e.c.type == "NotificationRequested",
                e.c.payload["template"].astext == "order_confirmation",
            ),
        )
    finally:
        await orchestrator.dispose()
    report.settling = len(completed) - len(settled)
    wanted: dict[str, dict[uuid.UUID, uuid.UUID]] = {}  # service -> notification -> checkout
    for row in sent:
        service = CHANNEL_SERVICE.get(str(row["payload"].get("channel")))
        if service is not None:
            notification = uuid.UUID(row["payload"]["notification_id"])
            wanted.setdefault(service, {})[notification] = row["checkout_id"]
    for service, ids in wanted.items():
        db = _db(settings, service)
        try:
            async with db.sessions() as session:
                found = set(
                    await session.scalars(
                        text(
                            "SELECT notification_id FROM notifications WHERE notification_id = ANY(:ids)"
                        ),
                        {"ids": list(ids)},
                    )
                )
        finally:
            await db.dispose()
        for notification, checkout_id in ids.items():
            if notification not in found:
                report.lost_notifications += 1
                report.violations.append(
                    f"{checkout_id}: completed but its order confirmation {notification} never "
                    f"reached {service}"
                )
    refund = _db(settings, "refund")
    try:
        known = {
            r["checkout_id"]
            for r in await _rows(
                refund,
                select(refundable.c.checkout_id).where(refundable.c.checkout_id.in_(list(settled))),
            )
        }
    finally:
        await refund.dispose()
    for checkout_id in settled - known:
        report.lost_refund_records += 1
        report.violations.append(
            f"{checkout_id}: completed but the refund service does not know its order"
        )
