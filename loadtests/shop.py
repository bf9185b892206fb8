"""What a load-test shopper does through the BFF (`/v1`), shared by the Locust scenarios.

Only the Locust process imports this module. Every request and every checkout outcome
is appended to the request log named by `AGENTSHOP_LOAD_LOG` (one CSV line each:
start time, kind, name, milliseconds, ok, detail); `loadtests.report` reads it after
the run. Users sign in before the run (`agentshop load` does it through
`POST /v1/auth/token`) and their bearer tokens come from `AGENTSHOP_LOAD_TOKENS`.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TextIO, TypeVar

from locust import FastHttpUser, between, events
from locust.env import Environment
from pydantic import BaseModel

from commerce.catalog.data import catalog_products, catalog_skus
from commerce.contracts.values import FINAL_STATES
from shopapi import client as api
from shopapi.schemas import CartLinePublic, CheckoutPublic

HOME = {
    "name": "Load Tester",
    "line1": "1 Main St",
    "city": "Portland",
    "region": "OR",
    "postal_code": "97201",
    "country": "US",
}
QUERIES: list[api.Call[Any]] = [
    api.search("usb c cable"), api.search("headphnoes"), api.search("aa batteries"),
    api.search("coffee"), api.search("notebook", sort="price_asc"),
    api.search(category="kitchen", max_price_cents=3000),
    api.search("wireless", category="electronics"), api.search("tent"), api.search("hoodie"),
    api.search(category="books", sort="name", offset=20), api.search("charger"),
    api.search("mug"),
]  # fmt: skip
PRODUCTS = [p.product_id for p in catalog_products()]
# Ordinary lines use SKUs with plenty of stock, so running out is only ever intended.
SKUS = [s.sku for s in catalog_skus() if s.initial_stock >= 50]
# More than any SKU's seeded stock, so the saga runs out of stock and compensates.
OUT_OF_STOCK_QUANTITY = 1000
TERMINAL = FINAL_STATES
RETRY_SECONDS = 0.5  # a status request refused at once is asked again after this
M = TypeVar("M", bound=BaseModel)


def env_float(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def poisson_starts(rate: float) -> Callable[[Any], float]:
    """A Locust wait time: each user starts tasks as a Poisson process of `rate` per second.

    The time to the next start is drawn from an exponential distribution and counted from
    the previous start, not from the end of the task, so slow answers do not lower the
    offered load; a user that fell behind starts its next task at once but does not make
    up for the tasks it missed. Independent users add up to one Poisson process of users x
    rate, the arrivals of an open system; evenly spaced starts (Locust's
    `constant_throughput`) keep users that started together in step, arriving in bursts.
    """

    def wait(user: Any) -> float:
        now = time.monotonic()
        start = max(getattr(user, "_next_start", now), now)
        user._next_start = start + random.expovariate(rate)
        return float(user._next_start - now)

    return wait


RATE_PER_USER = env_float("AGENTSHOP_LOAD_RATE_PER_USER", 0.0)


def pacing() -> Callable[[Any], float]:
    """How long a user waits between tasks.

    With AGENTSHOP_LOAD_RATE_PER_USER set, tasks start as a Poisson process of that rate
    per user (`poisson_starts`), so the offered load is users x rate whatever the latency;
    otherwise a random pause of up to AGENTSHOP_LOAD_WAIT_SECONDS after each task (closed
    loop: the slower the answers, the fewer requests).
    """
    if RATE_PER_USER > 0:
        return poisson_starts(RATE_PER_USER)
    return between(0.0, env_float("AGENTSHOP_LOAD_WAIT_SECONDS", 0.1))


# -- the request log ------------------------------------------------------------------


class RequestLog:
    """Appends one line per request or checkout outcome; flushed when Locust quits."""

    def __init__(self) -> None:
        self._file: TextIO | None = None
        self._lock = threading.Lock()

    def open(self, path: str) -> None:
        self._file = open(path, "a", buffering=1 << 20)  # noqa: SIM115 - closed on quit

    def write(
        self, start: float, kind: str, name: str, ms: float, ok: bool, detail: str = ""
    ) -> None:
        if self._file is None:
            return
        with self._lock:
            self._file.write(f"{start:.4f},{kind},{name},{ms:.3f},{int(ok)},{detail}\n")

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


LOG = RequestLog()


@events.init.add_listener
def _open_log(environment: Environment, **_: Any) -> None:
    path = os.environ.get("AGENTSHOP_LOAD_LOG")
    if path:
        LOG.open(path)


@events.quitting.add_listener
def _close_log(environment: Environment, **_: Any) -> None:
    LOG.close()


@events.request.add_listener
def _log_request(
    request_type: str,
    name: str,
    response_time: float,
    exception: BaseException | None,
    start_time: float | None = None,
    response: Any = None,
    **_: Any,
) -> None:
    started = start_time if start_time is not None else time.time() - response_time / 1000
    detail = "" if exception is None else f"{type(exception).__name__} {_refusal(response)}"
    LOG.write(started, request_type, name, response_time, exception is None, detail)


def _refusal(response: Any) -> str:
    """A failed answer's status and error code, e.g. `422 cart_empty` (for the log's detail)."""
    status = getattr(response, "status_code", None)
    if not status:
        return ""
    try:
        error = json.loads(response.text or "{}").get("error", {})
        code = error.get("code", "") if isinstance(error, dict) else ""
    except (ValueError, AttributeError):
        code = ""
    return re.sub(r"[^\w ]", "_", f"{status} {code}".strip())


def _tokens() -> Iterator[str]:
    path = os.environ.get("AGENTSHOP_LOAD_TOKENS")
    if not path:
        raise RuntimeError("AGENTSHOP_LOAD_TOKENS must name the signed-in users' token file")
    with open(path) as f:
        tokens: list[str] = json.load(f)
    return itertools.cycle(tokens)


_token_lock = threading.Lock()
_token_pool: Iterator[str] | None = None


def next_token() -> str:
    """A signed-in load-test user's token; each Locust user takes the next one."""
    global _token_pool
    with _token_lock:
        if _token_pool is None:
            _token_pool = _tokens()
        return next(_token_pool)


def _cart_changed_under_us(response: Any) -> bool:
    """The BFF's answer when the cart changed between viewing it and checking out: the
    previous checkout's ClearCart (asynchronous, after CheckoutCompleted) took the lines it
    bought, leaving nothing (422 `cart_empty`) or a different total (409 `price_changed`).
    A person sees the same message and looks again; it is not an error of the system."""
    if response.status_code not in (409, 422):
        return False
    return _refusal(response) in ("409 price_changed", "422 cart_empty")


def _shed(response: Any) -> bool:
    """The BFF shed the checkout (503 `overloaded`, Retry-After): the saga's backlog is above
    its limit. A person is told to try again in a moment; the system works as designed."""
    return bool(response.status_code == 503 and _refusal(response) == "503 overloaded")


# -- the shopper ------------------------------------------------------------------------


class Shopper(FastHttpUser):
    """A signed-in person; subclasses choose what they do and how often."""

    abstract = True
    decline_share = 0.0
    out_of_stock_share = 0.0

    def on_start(self) -> None:
        self.auth = {"Authorization": f"Bearer {next_token()}"}
        self.recent: list[str] = []  # SKUs of recent checkouts (their ClearCart may still come)
        if RATE_PER_USER > 0:  # the first task, too, at a random time
            time.sleep(self.wait_time())

    def send(self, call: api.Call[Any], *, signed: bool = True, **kwargs: Any) -> Any:
        """One call of the API's client through Locust's HTTP client (so Locust times it,
        under the call's route name); the response as Locust gives it."""
        extra: dict[str, Any] = {"params": call.params} if call.params else {}
        headers = {**self.auth, **call.headers} if signed else dict(call.headers)
        return self.client.request(
            call.method, call.path, name=call.name, json=call.json, headers=headers,
            **extra, **kwargs,
        )  # fmt: skip

    # browsing (public: no token)
    def search(self) -> None:
        self.send(random.choice(QUERIES), signed=False)

    def product_detail(self) -> None:
        self.send(api.product(random.choice(PRODUCTS)), signed=False)

    def view_cart(self) -> list[CartLinePublic]:
        call = api.cart()
        response = self.send(call)
        return call.parse(response.json()).lines if response.ok else []

    def add_to_cart(self, sku: str | None = None, quantity: int = 1) -> None:
        self.send(api.add_line(sku or self.fresh_sku(), quantity))

    def fresh_sku(self) -> str:
        while (sku := random.choice(SKUS)) in self.recent:
            pass
        return sku

    def empty_cart(self) -> None:
        for line in self.view_cart():
            with self.send(api.remove_line(line.sku), catch_response=True) as response:
                if response.status_code == 404:  # a late ClearCart took it first
                    response.success()

    # buying
    def checkout(self) -> None:
        """Quote the cart, start the checkout at that total, wait for the saga's outcome."""
        lines = self.view_cart()
        if not lines:
            return
        expect_out_of_stock = any(li.quantity >= OUT_OF_STOCK_QUANTITY for li in lines)
        declined = random.random() < self.decline_share
        quote = self.checkout_step(api.quote_cart(HOME))
        if quote is None:
            return
        sent = time.time()
        created = self.checkout_step(
            api.start_checkout(
                HOME, "tok_declined" if declined else "tok_visa", quote.totals.total_cents,
                idempotency_key=str(uuid.uuid4()),
            ),
            expect=202,
        )  # fmt: skip
        accepted = time.time()
        if created is None:
            return
        checkout_id = str(created.checkout_id)
        self.recent = ([li.sku for li in lines] + self.recent)[:12]
        status = self.wait_for_outcome(checkout_id)
        observed = time.time()
        if status is None:
            self.outcome(sent, "timeout", 0.0, ok=False, detail=checkout_id)
            return
        expected = (
            "out_of_stock" if expect_out_of_stock else "payment_declined" if declined else None
        )
        code = status.code if status.state == "failed" else None
        finished_at = self.finished_at(checkout_id)
        ok = code == expected and finished_at is not None
        label = status.state if code is None else f"failed {code}"
        if finished_at is None:
            self.outcome(sent, label, (observed - sent) * 1000, ok=False, detail="no timeline")
            return
        # initiate request sent -> the orchestrator recorded the outcome (same clock)
        self.outcome(sent, label, (finished_at - sent) * 1000, ok=ok, detail=expected or "")
        events.request.fire(
            request_type="SAGA", name=label, response_time=(finished_at - accepted) * 1000,
            response_length=0, exception=None if ok else RuntimeError(f"expected {expected}"),
            context={}, start_time=accepted,
        )  # fmt: skip
        events.request.fire(
            request_type="OBSERVED", name=label, response_time=(observed - sent) * 1000,
            response_length=0, exception=None, context={}, start_time=sent,
        )  # fmt: skip
        if status.state == "failed":
            self.empty_cart()  # a person drops what could not be bought

    def checkout_step(self, call: api.Call[M], expect: int = 200) -> M | None:
        """POST a step of the checkout; the answer when it is `expect`, else None. A cart that
        changed under the shopper (`_cart_changed_under_us`) is an expected answer."""
        with self.send(call, catch_response=True) as response:
            if _cart_changed_under_us(response):
                response.success()
                return None
            if _shed(response):
                response.success()
                self.outcome(time.time(), "shed", 0.0, ok=True)
                return None
        return call.parse(response.json()) if response.status_code == expect else None

    def outcome(self, sent: float, label: str, ms: float, *, ok: bool, detail: str = "") -> None:
        events.request.fire(
            request_type="CHECKOUT", name=label, response_time=ms, response_length=0,
            exception=None if ok else RuntimeError(f"unexpected outcome {label} {detail}"),
            context={}, start_time=sent,
        )  # fmt: skip

    def wait_for_outcome(self, checkout_id: str, within: float = 60.0) -> CheckoutPublic | None:
        """The outcome by long polls (`?wait=&until=finished`: the BFF answers once the
        outcome is known), so a checkout costs one status request, not one per poll."""
        deadline = time.monotonic() + within
        while (left := deadline - time.monotonic()) > 0:
            wait = min(left, api.OUTCOME_WAIT_SECONDS)
            call = api.checkout(checkout_id, wait=wait, until="finished")
            response = self.send(call)
            if response.ok:
                status = call.parse(response.json())
                if status.state in TERMINAL:
                    return status
            else:  # refused at once (e.g. 503 while a service is away): ask again shortly
                time.sleep(min(RETRY_SECONDS, max(left, 0)))
        return None

    def finished_at(self, checkout_id: str) -> float | None:
        """When the orchestrator recorded CheckoutCompleted or CheckoutFailed (epoch seconds)."""
        call = api.timeline(checkout_id)
        response = self.send(call)
        if not response.ok:
            return None
        for entry in call.parse(response.json()).events:
            if entry.type in ("CheckoutCompleted", "CheckoutFailed"):
                return entry.at.timestamp()
        return None
