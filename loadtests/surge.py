"""Surge: a step from base load to 10x, held, then back to base.

Browsers and buyers (4:1) at AGENTSHOP_LOAD_USERS users; at AGENTSHOP_LOAD_SURGE_AT
seconds the user count jumps to AGENTSHOP_LOAD_SURGE_FACTOR (10) times that, for
AGENTSHOP_LOAD_SURGE_SECONDS, then returns to base until AGENTSHOP_LOAD_RUN_SECONDS.
The report compares latency and errors before, during and after the step.
"""

from __future__ import annotations

import os

from locust import LoadTestShape

from loadtests.checkout_flow import Buyer
from loadtests.read_heavy import Browser
from loadtests.shop import env_float

__all__ = ["Browser", "Buyer", "SurgeShape"]
Browser.weight = 4
Buyer.weight = 1


class SurgeShape(LoadTestShape):
    base = int(os.environ.get("AGENTSHOP_LOAD_USERS", "10"))
    factor = env_float("AGENTSHOP_LOAD_SURGE_FACTOR", 10)
    surge_at = env_float("AGENTSHOP_LOAD_SURGE_AT", 30)
    surge_for = env_float("AGENTSHOP_LOAD_SURGE_SECONDS", 30)
    run_for = env_float("AGENTSHOP_LOAD_RUN_SECONDS", 90)

    def tick(self) -> tuple[int, float] | None:
        now = self.get_run_time()
        if now >= self.run_for:
            return None
        if self.surge_at <= now < self.surge_at + self.surge_for:
            peak = round(self.base * self.factor)
            return peak, float(peak)  # the whole step within about a second
        return self.base, float(self.base)
