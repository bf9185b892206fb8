"""The list of deployable services: names, ports and databases.

This module is static data with no imports of service code, so tooling (the CLI,
deployment checks, load tests) can read it cheaply. Each entry names the module
that holds the service's runtime definition (`module:attribute`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    port: int
    description: str
    module: str
    has_database: bool = True

    @property
    def database(self) -> str:
        """The name of the service's own PostgreSQL database."""
        return self.name.replace("-", "_")

    @property
    def env_prefix(self) -> str:
        """Prefix of this service's own environment variables, e.g. `PAYMENT_GATEWAY_`."""
        return self.name.replace("-", "_").upper() + "_"


# Each service adds its entry here when its module exists. Planned ports:
# gateway-bff 8000, catalog 8101, inventory 8102, cart 8103, discount-engine 8104,
# tax-calculation 8105, payment-gateway 8106, order 8107, checkout-orchestrator 8108,
# refund 8109, email-service 8110, sms-service 8111, push-service 8112.
_SPECS: list[ServiceSpec] = [
    # one ServiceSpec(...) per line, in port order
    ServiceSpec("gateway-bff", 8000, "the one public REST API", "bff.service:service"),
    ServiceSpec("catalog", 8101, "products, search, detail", "commerce.catalog.service:service"),
    ServiceSpec("inventory", 8102, "stock, reservations", "commerce.inventory.service:service"),
    ServiceSpec("cart", 8103, "carts per user", "commerce.cart.service:service"),
    ServiceSpec(
        "discount-engine", 8104, "discount rules and coupons", "commerce.discount.service:service"
    ),
    ServiceSpec("tax-calculation", 8105, "tax rates and quotes", "commerce.tax.service:service"),
    ServiceSpec(
        "payment-gateway", 8106, "simulated payment provider", "commerce.payment.service:service"
    ),
    ServiceSpec("order", 8107, "orders and their history", "commerce.order.service:service"),
    ServiceSpec(
        "checkout-orchestrator", 8108, "the checkout saga", "commerce.checkout.service:service"
    ),
    ServiceSpec("refund", 8109, "refunds", "commerce.refund.service:service"),
    ServiceSpec(
        "email-service", 8110, "email notifications", "commerce.notifications.email:service"
    ),
    ServiceSpec("sms-service", 8111, "SMS notifications", "commerce.notifications.sms:service"),
    ServiceSpec("push-service", 8112, "push notifications", "commerce.notifications.push:service"),
]

SERVICES: dict[str, ServiceSpec] = {spec.name: spec for spec in _SPECS}

UI_PORT = 8501
