"""A checkout's outcome is pushed: `GET /v1/checkouts/{id}?wait=` answers when the saga
changes (woken by the orchestrator's commits), and the live stream ends with the outcome
without polling (docs/adr/0038)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import httpx
import pytest

from commerce.checkout import waiting
from commerce.contracts.values import FINAL_STATES
from commerce.platform.waiters import Watch
from commerce.services import SERVICES
from shopapi import client as api
from tests.conftest import ServiceStack, service_headers
from tests.e2e.helpers import closing, signed_in, start_checkout

pytestmark = pytest.mark.integration

WAIT = 30  # the longest wait the API takes: no answer below comes from a wait running out


async def follow(client: httpx.AsyncClient, checkout_id: str) -> list[dict[str, Any]]:
    """The answers of long polls until the checkout is finished (bounded)."""
    answers: list[dict[str, Any]] = []
    for _ in range(20):  # a saga has fewer states than this
        response = await client.get(
            f"/v1/checkouts/{checkout_id}", params={"wait": WAIT}, timeout=WAIT + 30
        )
        assert response.status_code == 200, response.text
        answers.append(response.json())
        if answers[-1]["state"] in FINAL_STATES:
            break
    return answers


def each_answer_is_a_change(answers: list[dict[str, Any]]) -> None:
    """Every answer but a finished one came because the state changed: no two in a row
    are the same (a poll answered at once would repeat the state it saw)."""
    states = [a["state"] for a in answers]
    assert states[-1] in FINAL_STATES, states
    assert all(a != b for a, b in itertools.pairwise(states)), states


async def test_a_waiting_request_answers_as_the_saga_moves_and_when_it_ends(
    stack: ServiceStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no safety-net re-read within a wait, and every wait's end recorded: True when the
    # orchestrator's commit woke it, False when it ran out
    monkeypatch.setattr(waiting, "RECHECK_SECONDS", WAIT * 2)
    woken: list[bool] = []
    wait = Watch.wait

    async def recorded(self: Watch, seconds: float) -> bool:
        woken.append(await wait(self, seconds))
        return woken[-1]

    monkeypatch.setattr(Watch, "wait", recorded)
    await stack.ensure(*SERVICES)
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    bob = await signed_in(stack, "bob@example.com", "bob-demo-pass")
    async with closing(alice, bob):
        checkout_id = await start_checkout(alice, "COF-HOUSE-340")
        answers = await follow(alice, checkout_id)
        each_answer_is_a_change(answers)
        assert all(woken), woken  # no answer waited for its wait to run out
        assert answers[-1]["state"] == "completed" and answers[-1]["order_id"]
        # `until=finished`: one answer, the outcome, however many steps came before it
        woken.clear()
        second = await start_checkout(alice, "BAT-AA-8")  # the first one's ClearCart may be late
        outcome = await alice.get(
            f"/v1/checkouts/{second}", params={"wait": WAIT, "until": "finished"}, timeout=WAIT + 30
        )
        assert outcome.status_code == 200 and outcome.json()["state"] == "completed"
        assert all(woken), woken
        # a finished checkout answers at once, the same as the plain read
        again = await alice.get(f"/v1/checkouts/{checkout_id}", params={"wait": WAIT})
        plain = await alice.get(f"/v1/checkouts/{checkout_id}")
        assert again.json() == plain.json() == answers[-1]
        # someone else's checkout is not found, waiting or not
        theirs = await bob.get(f"/v1/checkouts/{checkout_id}", params={"wait": WAIT})
        assert theirs.status_code == 404
        # nobody is left waiting at the orchestrator
        hub = waiting.CHANGES.of(stack.runtime("checkout-orchestrator"))
        assert hub.waiting(answers[-1]["checkout_id"]) == 0


async def test_a_failing_saga_wakes_its_waiter_too(stack: ServiceStack) -> None:
    await stack.ensure(*SERVICES)
    carla = await signed_in(stack, "carla@example.com", "carla-demo-pass")
    async with closing(carla):
        checkout_id = await start_checkout(carla, "COF-HOUSE-340", token="tok_declined")
        answers = await follow(carla, checkout_id)
        each_answer_is_a_change(answers)
        assert answers[-1]["state"] == "failed" and answers[-1]["code"] == "payment_declined"
        await carla.delete("/v1/cart/lines/COF-HOUSE-340")


@pytest.mark.parametrize(
    "params",
    [{"wait": "-1"}, {"wait": "30.5"}, {"wait": "600"}, {"wait": "soon"}, {"wait": "nan"},
     {"wait": "5", "until": "forever"}],
)  # fmt: skip
async def test_a_bad_wait_is_refused_with_the_reason(
    stack: ServiceStack, params: dict[str, str]
) -> None:
    await stack.ensure(*SERVICES)
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    async with closing(alice):
        refused = await alice.get(f"/v1/checkouts/{uuid.uuid4()}", params=params)
        assert refused.status_code == 422, refused.text
        assert list(params)[-1] in refused.text  # the reason names the parameter


async def test_a_long_poll_on_no_checkout_at_all_is_not_held_for_its_whole_wait(
    stack: ServiceStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A saga that is not there is waited for a moment only (it may be on its way), then
    answered 404: a wait of 30 s on an id that is nobody's checkout does not hold 30 s."""
    await stack.ensure(*SERVICES)
    monkeypatch.setattr(waiting, "APPEAR_SECONDS", 0.2)
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    async with closing(alice):
        answer = await alice.get(
            f"/v1/checkouts/{uuid.uuid4()}", params={"wait": "30", "until": "finished"},
            timeout=15,
        )  # fmt: skip
        assert answer.status_code == 404, answer.text


async def test_the_long_poll_works_over_http_between_processes(
    stack: ServiceStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The BFF calls the orchestrator over loopback HTTP, as when they run in separate
    processes: the orchestrator holds the request and its own commits answer it."""
    await stack.ensure(*SERVICES)
    bff = stack.runtime("gateway-bff")
    over_http = httpx.AsyncClient(timeout=10, headers=service_headers(stack.settings))
    monkeypatch.setattr(bff, "http", over_http)
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    async with closing(alice, over_http):
        checkout_id = await start_checkout(alice, "COF-HOUSE-340")
        answers = await follow(alice, checkout_id)
        each_answer_is_a_change(answers)
        assert answers[-1]["state"] == "completed"


async def test_the_client_waits_for_the_outcome_and_the_stream_ends_with_it(
    stack: ServiceStack,
) -> None:
    await stack.ensure(*SERVICES)
    alice = await signed_in(stack, "alice@example.com", "alice-demo-pass")
    async with closing(alice):
        checkout_id = await start_checkout(alice, "COF-HOUSE-340")
        shop = api.AsyncClient(str(alice.base_url), http=alice)
        outcome = await shop.wait_for_outcome(checkout_id, within=60)
        assert outcome.state == "completed"
        # the stream of a finished checkout: the timeline so far, ending with the outcome
        events: list[str] = []
        async with alice.stream(
            "GET", f"/v1/checkouts/{checkout_id}/stream", timeout=60
        ) as response:
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    events.append(line.removeprefix("event: "))
        assert events[0] == "InitiateCheckoutCommand"
        assert events[-1] == "CheckoutCompleted" and events.count("CheckoutCompleted") == 1
        # a stream followed live ends with the outcome, too
        live_id = await start_checkout(alice, "COF-HOUSE-340")
        live: list[str] = []
        async with alice.stream("GET", f"/v1/checkouts/{live_id}/stream", timeout=60) as response:
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    live.append(line.removeprefix("event: "))
        assert live[0] == "InitiateCheckoutCommand" and live[-1] == "CheckoutCompleted"
        assert "ReserveInventory" in live and "PaymentProcessed" in live
