"""The chaos suite, short: kill -9 of the broker, of the whole stack and of one service's
process, a PostgreSQL crash, in a random order, each during paced checkouts; nothing
accepted is lost or stuck (docs/adr/0020).

Runs its own one-command stack (`agentshop up` as a child process, own embedded servers) on
loopback at AGENTSHOP_PORT_OFFSET + 700. `agentshop chaos` is the full version.
"""

from __future__ import annotations

import os

import pytest

from commerce.services import SERVICES
from loadtests import chaos

# a fault that leaves work stuck must fail with the table, not time out without it: each
# fault may take its load, the clients' patience and both bounds (docs/adr/0020)
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]


async def test_nothing_accepted_is_lost_when_the_broker_the_stack_or_postgres_dies() -> None:
    offset = int(os.environ.get("AGENTSHOP_PORT_OFFSET", "20000")) + 700
    # the saga's hot participants each in a process of their own, so that one of them can
    # be killed alone (the `service` fault); the rest in `up`'s process
    alone = ["checkout-orchestrator", "payment-gateway", "inventory"]
    rest = ",".join(name for name in SERVICES if name not in alone)
    options = chaos.ChaosOptions(
        rate=1.5, users=8, before_seconds=5, after_seconds=5, settle_seconds=120,
        port_offset=offset, seed=17, groups=";".join([rest, *alone]),
    )  # fmt: skip
    rows = await chaos.run(options)
    assert sorted(r.fault for r in rows) == sorted(chaos.FAULTS)
    assert next(r.target for r in rows if r.fault == "service") in alone
    assert all(r.checkouts > 0 for r in rows), chaos.table(rows)
    assert chaos.ok(rows), chaos.table(rows) + "\n" + "\n".join(d for r in rows for d in r.details)
