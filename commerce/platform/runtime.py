"""What a service's code may use of its running service: the typed seam between the
services and the platform.

Message handlers reach it as `ctx.runtime`, a handler's `prepare` and background tasks
get it as their argument, routes as `RuntimeDep`. `ServiceRuntime` is the one
implementation; it is a Protocol so that the services depend on what they use, not on
how the platform wires it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import httpx

    from commerce.platform.db import Database, PlatformTables
    from commerce.platform.metrics import ServiceMetrics
    from commerce.platform.outbox import Outbox
    from commerce.platform.settings import Settings


class Runtime(Protocol):
    @property
    def db(self) -> Database: ...

    @property
    def http(self) -> httpx.AsyncClient: ...

    @property
    def outbox(self) -> Outbox: ...

    @property
    def settings(self) -> Settings: ...

    @property
    def tables(self) -> PlatformTables: ...

    @property
    def metrics(self) -> ServiceMetrics: ...

    def url_of(self, service: str) -> str: ...
