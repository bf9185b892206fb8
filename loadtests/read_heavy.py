"""Read-heavy: the mix a shop sees. Browsing dwarfs the cart; few carts reach checkout.

    locust -f loadtests/read_heavy.py --host http://127.0.0.1:8000 ...  (use `agentshop load`)

Per Locust user, out of 100 actions: 50 searches, 30 product pages, 10 cart views,
7 additions to the cart, 3 checkouts (quote, start, wait for the saga's outcome).
"""

from __future__ import annotations

from locust import task

from loadtests.shop import Shopper, pacing


class Browser(Shopper):
    wait_time = pacing()

    @task(50)
    def browse_search(self) -> None:
        self.search()

    @task(30)
    def browse_product(self) -> None:
        self.product_detail()

    @task(10)
    def look_at_cart(self) -> None:
        self.view_cart()

    @task(7)
    def put_in_cart(self) -> None:
        self.add_to_cart()

    @task(3)
    def buy(self) -> None:
        self.checkout()
