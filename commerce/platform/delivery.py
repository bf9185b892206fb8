"""End-to-end delivery: a sent message counts as delivered once its consumer has handled it.

The broker acknowledging a message is not enough: a broker with memory storage can lose
it. A service that must know its message had its effect (the BFF's
InitiateCheckoutCommand, the saga's CommitInventory, confirmations and CheckoutCompleted)
follows it in a `DeliveryLedger`: after a grace period it asks the consumer's service
which of the messages its inbox holds (`POST /ops/inbox`, the inbox row is written in the
same transaction as the effect) and sends the others again from its outbox, unchanged,
so a consumer that did handle one drops the repeat. A message not handled yet by a
consumer that reports a backlog is queued, not lost: it is asked about again later, not
sent again. Re-sends are bounded per pass, back off, and stop after `max_resends` (a message
its consumer dead-letters); a message is followed for `window` seconds at most (then it is
logged and dropped). See docs/adr/0020.

The ledger lives in memory: after a restart its owner feeds it again from its database
(everything sent within the window), so one check per message is repeated, no more.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import httpx
import structlog

from commerce.platform.runtime import Runtime

log = structlog.get_logger(__name__)

LOOKUP_CHUNK = 500


@dataclass
class InboxAnswer:
    handled: set[uuid.UUID]
    backlog: int | None  # records the consumer has not handled yet (None: not consuming)


async def ask_inbox(runtime: Runtime, service: str, ids: list[uuid.UUID]) -> InboxAnswer | None:
    """Ask `service` which of `ids` its consumer handled (`POST /ops/inbox`); None when it
    cannot answer (down, or its database is)."""
    answer = InboxAnswer(set(), None)
    for i in range(0, max(len(ids), 1), LOOKUP_CHUNK):
        chunk = ids[i : i + LOOKUP_CHUNK]
        try:
            response = await runtime.http.post(
                f"{runtime.url_of(service)}/ops/inbox",
                json={"message_ids": [str(m) for m in chunk]},
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            log.info("delivery.unreachable", service=service, error=str(exc))
            return None
        body = response.json()
        answer.handled.update(uuid.UUID(m) for m in body["handled"])
        answer.backlog = body.get("backlog")
    return answer


@dataclass
class _Followed:
    service: str
    type: str
    due: float  # monotonic time of the next check
    until: float  # monotonic time after which it is no longer followed
    resends: int = 0


@dataclass
class Pass:
    confirmed: int = 0
    resent: int = 0
    unreachable: int = 0
    queued: int = 0
    given_up: int = 0


class DeliveryLedger:
    """Messages of one service awaiting their consumer's confirmation."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        grace: float,
        window: float,
        max_resends_per_pass: int = 50,
        max_resends: int = 5,
    ) -> None:
        self.runtime = runtime
        self.grace = grace
        self.window = window
        self.max_resends_per_pass = max_resends_per_pass
        self.max_resends = max_resends
        self._followed: dict[uuid.UUID, _Followed] = {}
        self.resent_total = 0

    def __len__(self) -> int:
        return len(self._followed)

    def follow(self, message_id: uuid.UUID, service: str, type_name: str, age: float = 0.0) -> None:
        """Follow a message sent `age` seconds ago to `service`'s consumer."""
        if message_id in self._followed:
            return
        now = time.monotonic()
        self._followed[message_id] = _Followed(
            service, type_name, due=now + max(self.grace - age, 0.0), until=now + self.window - age
        )

    def follow_all(self, items: Iterable[tuple[uuid.UUID, str, str, float]]) -> None:
        for message_id, service, type_name, age in items:
            self.follow(message_id, service, type_name, age)

    async def reconcile(self) -> Pass:
        """Check the messages that are due; send again those their consumer has not handled."""
        now = time.monotonic()
        done = Pass()
        due: dict[str, list[uuid.UUID]] = {}
        for message_id, f in list(self._followed.items()):
            if f.until < now:
                log.warning(
                    "delivery.given_up", message_id=str(message_id), service=f.service,
                    type=f.type, resends=f.resends,
                )  # fmt: skip
                del self._followed[message_id]
                done.given_up += 1
            elif f.due <= now:
                due.setdefault(f.service, []).append(message_id)
        lost: list[uuid.UUID] = []
        for service, ids in due.items():
            answer = await ask_inbox(self.runtime, service, ids)
            if answer is None:  # the service is away: ask again after the grace period
                for message_id in ids:
                    self._followed[message_id].due = now + self.grace
                done.unreachable += len(ids)
                continue
            for message_id in ids:
                f = self._followed[message_id]
                if message_id in answer.handled:
                    del self._followed[message_id]
                    done.confirmed += 1
                elif answer.backlog:  # queued behind others: a copy would only add work
                    f.due = now + self.grace
                    done.queued += 1
                elif f.resends >= self.max_resends:  # e.g. one its consumer dead-letters
                    log.warning(
                        "delivery.given_up", message_id=str(message_id), service=f.service,
                        type=f.type, resends=f.resends,
                    )  # fmt: skip
                    del self._followed[message_id]
                    done.given_up += 1
                else:
                    lost.append(message_id)
        resend = lost[: self.max_resends_per_pass]
        for message_id in lost[self.max_resends_per_pass :]:  # next pass, bounded rate
            self._followed[message_id].due = now
        if resend:
            async with self.runtime.db.transaction() as session:
                done.resent = await self.runtime.outbox.resend(session, resend)
            for message_id in resend:
                f = self._followed[message_id]
                f.resends += 1
                f.due = now + self.grace * min(2**f.resends, 8)  # a slow consumer is not flooded
                self.runtime.metrics.resent.labels(type=f.type).inc()
            self.resent_total += done.resent
            log.warning(
                "delivery.resent",
                messages=done.resent,
                types=sorted({self._followed[m].type for m in resend}),
            )
        return done
