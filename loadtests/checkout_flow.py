"""Checkout flow: every user fills a cart, quotes it, starts the checkout and waits.

A share of checkouts pays with `tok_declined` (AGENTSHOP_LOAD_DECLINE_SHARE, default
0.1) and a share asks for more units than are on hand (AGENTSHOP_LOAD_OUT_OF_STOCK_SHARE,
default 0.05), so compensation runs under load too. Those outcomes are expected and
count as successes; any other failure counts as an error.
"""

from __future__ import annotations

import random

from locust import task

from loadtests.shop import OUT_OF_STOCK_QUANTITY, Shopper, env_float, pacing


class Buyer(Shopper):
    wait_time = pacing()
    decline_share = env_float("AGENTSHOP_LOAD_DECLINE_SHARE", 0.1)
    out_of_stock_share = env_float("AGENTSHOP_LOAD_OUT_OF_STOCK_SHARE", 0.05)

    @task
    def buy_something(self) -> None:
        if self.view_cart():
            self.empty_cart()
        chosen: list[str] = []
        for _ in range(random.randint(1, 2)):
            chosen.append(self.fresh_sku())
            self.add_to_cart(chosen[-1], quantity=random.randint(1, 2))
        if random.random() < self.out_of_stock_share:
            # a SKU not in the cart yet: a line holds at most 1,000 units (422 past that)
            while (sku := self.fresh_sku()) in chosen:
                pass
            self.add_to_cart(sku, quantity=OUT_OF_STOCK_QUANTITY)
        self.checkout()
