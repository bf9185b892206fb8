"""`agentshop up --replicas 2`: a second process runs the saga's hot consumers in their
consumer groups; checkouts complete, a declined card compensates, every record is handled
once and both processes take part (docs/adr/0031).

Runs its own one-command stack (`agentshop up` as a child process, own embedded servers) on
loopback at AGENTSHOP_PORT_OFFSET + 800.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import func, select

from commerce.catalog.data import catalog_skus
from commerce.checkout.invariants import check_invariants
from commerce.contracts.values import FINAL_STATES
from commerce.demo import DEMO_USERS
from commerce.platform import runfile
from commerce.platform.db import Database
from commerce.platform.kafka import client_options
from commerce.platform.placement import REPLICATED
from commerce.platform.settings import Settings, get_settings
from commerce.services import SERVICES
from tests.e2e.helpers import start_up

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(600)]

HOME = {"name": "Replica Shopper", "line1": "1 Main St", "city": "Portland", "region": "OR",
        "postal_code": "97201", "country": "US"}  # fmt: skip
ROUNDS = 6  # checkouts per demo user: 18 in all, the last of each with a declined card


def test_two_replicas_complete_checkouts_and_compensate_a_declined_card(tmp_path: Path) -> None:
    offset = int(os.environ.get("AGENTSHOP_PORT_OFFSET", "20000")) + 800
    data = tmp_path / "data"
    log_path = tmp_path / "up.log"
    # INFO: the orchestrator logs each checkout it starts, in the process that handled it
    proc = start_up(
        ["--no-ui", "--processes", "1", "--replicas", "2"],
        log_path,
        AGENTSHOP_DATA_DIR=str(data),
        AGENTSHOP_PORT_OFFSET=str(offset),
        AGENTSHOP_LOG_LEVEL="INFO",
        AGENTSHOP_RATE_LIMIT_PER_MINUTE="100000",
    )
    try:
        deadline = time.monotonic() + 240
        while "agentshop is running" not in log_path.read_text(errors="replace"):
            assert proc.poll() is None, log_path.read_text()[-4000:]
            assert time.monotonic() < deadline, log_path.read_text()[-4000:]
            time.sleep(0.5)
        replicas = [
            c
            for c in psutil.Process(proc.pid).children(recursive=True)
            if "agentshop.replica" in " ".join(c.cmdline())
        ]
        assert len(replicas) == 1

        info = runfile.read(data)
        assert info is not None
        settings = get_settings().model_copy(
            update={
                "database_url": info.database_url,
                "kafka_bootstrap_servers": info.kafka_bootstrap_servers,
                "port_offset": offset,
            }
        )
        results = asyncio.run(_checkouts(settings))
        # both processes handled checkouts: Kafka spread the partitions over them
        replica_log = (data / "logs" / "services-1.log").read_text(errors="replace")
        started_here = log_path.read_text(errors="replace").count('"checkout.started"')
        started_there = replica_log.count('"checkout.started"')
        assert started_here > 0 and started_there > 0, (started_here, started_there, results)

        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 0, log_path.read_text()[-4000:]
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


async def _checkouts(settings: Settings) -> list[tuple[str, str, str]]:
    """Checkouts of every demo user at once; what they owe holds and each was handled once."""
    # each hot consumer group has two members: the service's own and the replica's
    for name in REPLICATED:
        assert await _members(settings, f"agentshop.{name}") == 2, name

    bff = f"http://127.0.0.1:{SERVICES['gateway-bff'].port + settings.port_offset}"
    skus = [s.sku for s in catalog_skus() if s.initial_stock >= 50]
    async with httpx.AsyncClient(base_url=bff, timeout=30) as http:
        outcomes = await asyncio.gather(*(_shop(http, n, skus) for n in range(len(DEMO_USERS))))
    results = [r for rounds in outcomes for r in rounds]
    declined = [cid for cid, token, _ in results if token == "tok_declined"]
    assert [state for _, token, state in results if token == "tok_visa"] == ["completed"] * (
        len(results) - len(declined)
    ), results
    assert [state for _, token, state in results if token == "tok_declined"] == ["failed"] * len(
        declined
    ), results

    # what a finished checkout owes (payments, orders, stock, confirmations) holds
    ids = [uuid.UUID(cid) for cid, _, _ in results]
    report = await check_invariants(settings, ids, settle_seconds=0)
    deadline = time.monotonic() + 60
    while report.lost_notifications or report.lost_refund_records:
        assert time.monotonic() < deadline, report.summary()
        await asyncio.sleep(1.0)
        report = await check_invariants(settings, ids, settle_seconds=0)
    assert report.ok, report.summary()
    assert (report.completed, report.failed) == (len(results) - len(declined), len(declined))
    # every record handled once: one inbox row per initiate, nothing dead-lettered
    assert await _count(settings, "checkout-orchestrator", "inbox", "InitiateCheckoutCommand") == (
        len(results)
    )
    for name in REPLICATED:
        assert await _count(settings, name, "dead_letter") == 0, name
    return results


async def _shop(http: httpx.AsyncClient, n: int, skus: list[str]) -> list[tuple[str, str, str]]:
    """ROUNDS checkouts of one demo user, one at a time: (checkout id, card, final state)."""
    user = DEMO_USERS[n]
    signed = await http.post(
        "/v1/auth/token", json={"email": user.email, "password": user.password}
    )
    signed.raise_for_status()
    auth = {"Authorization": f"Bearer {signed.json()['access_token']}"}
    done = []
    for round_ in range(ROUNDS):
        token = "tok_declined" if round_ == ROUNDS - 1 else "tok_visa"
        sku = skus[(n * ROUNDS + round_) % len(skus)]
        added = await http.post("/v1/cart/lines", json={"sku": sku, "quantity": 1}, headers=auth)
        assert added.is_success, added.text
        quote = await http.post("/v1/checkout/quote", json={"shipping_address": HOME}, headers=auth)
        assert quote.is_success, quote.text
        created = await http.post(
            "/v1/checkouts",
            json={
                "shipping_address": HOME,
                "payment_token": token,
                "expected_total_cents": quote.json()["totals"]["total_cents"],
            },
            headers={**auth, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert created.status_code == 202, created.text
        checkout_id = created.json()["checkout_id"]
        done.append((checkout_id, token, await _outcome(http, auth, checkout_id)))
        # a failed checkout leaves the cart as it was: empty it for the next round
        cart = await http.get("/v1/cart", headers=auth)
        for line in cart.json().get("lines", []):
            await http.delete(f"/v1/cart/lines/{line['sku']}", headers=auth)
    return done


async def _outcome(http: httpx.AsyncClient, auth: dict[str, str], checkout_id: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = await http.get(f"/v1/checkouts/{checkout_id}", headers=auth)
        if status.is_success and (state := status.json().get("state")) in FINAL_STATES:
            return str(state)
        await asyncio.sleep(0.1)
    return "timeout"


async def _members(settings: Settings, group: str) -> int:
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="test-replicas")
    await admin.start()
    try:
        described = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    return sum(len(g[5]) for response in described for g in response.groups if g[1] == group)


async def _count(settings: Settings, name: str, table: str, type_name: str | None = None) -> int:
    from commerce.platform.service import Service
    from commerce.platform.stack import load_service

    service: Service = load_service(name)
    spec = service.spec
    db = Database(settings.service_database_url(spec.env_prefix, spec.database), pool_size=1)
    t = service.metadata.tables[table]
    query = select(func.count()).select_from(t)
    if type_name is not None:
        query = query.where(t.c.type == type_name, t.c.consumer == name)
    try:
        async with db.sessions() as session:
            return int(await session.scalar(query) or 0)
    finally:
        await db.dispose()
